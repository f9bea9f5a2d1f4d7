from typing import TYPE_CHECKING, Annotated

import strawberry
import strawberry_django
from strawberry.scalars import JSON

from netbox.graphql.types import BaseObjectType, register_type

from .. import models
from ..secrets import redact
from .filters import ChangeFilter, SyncRunFilter

if TYPE_CHECKING:
    from users.graphql.types import UserType  # noqa: F401

__all__ = (
    'ChangeType',
    'SyncRunType',
)


@register_type(
    models.SyncRun,
    name='MerakiSyncRunType',
    fields=[
        'id', 'request_id', 'organization_id', 'organization_name', 'network_ids', 'mode', 'full_read', 'status',
        'trigger', 'user', 'created', 'started', 'completed', 'review_started', 'review_completed', 'phase',
        'progress_done', 'progress_total', 'api_calls', 'api_rate_limited', 'counts', 'timings', 'cancel_requested',
        'changes',
    ],
    filters=SyncRunFilter,
    pagination=True,
)
class SyncRunType(BaseObjectType):
    user: Annotated['UserType', strawberry.lazy('users.graphql.types')] | None
    changes: list[Annotated['ChangeType', strawberry.lazy('netbox_meraki.graphql.types')]]

    @strawberry_django.field(only=['job_id'])
    def job_id(self) -> int | None:
        return self.job_id

    @strawberry_django.field(only=['error'])
    def error(self) -> str:
        return redact(self.error)

    @strawberry_django.field(only=['log'])
    def log(self) -> JSON:
        # The engine stores only redacted text; redacting again here keeps the key out even of an old row.
        return [{**line, 'message': redact(line.get('message', ''))} for line in self.log]

    @strawberry_django.field(only=['started', 'completed'])
    def duration(self) -> float | None:
        """Seconds from start to completion."""
        return self.duration.total_seconds() if self.duration is not None else None


@register_type(
    models.Change,
    name='MerakiChangeType',
    fields=[
        'id', 'run', 'sequence', 'action', 'kind', 'meraki_id', 'object_id', 'object_repr', 'scope', 'before',
        'after', 'state', 'reason', 'cascade',
    ],
    filters=ChangeFilter,
    pagination=True,
)
class ChangeType(BaseObjectType):
    run: Annotated['SyncRunType', strawberry.lazy('netbox_meraki.graphql.types')]
