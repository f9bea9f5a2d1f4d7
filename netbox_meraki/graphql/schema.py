import strawberry
import strawberry_django

from .types import ChangeType, SyncRunType

__all__ = (
    'MerakiQuery',
    'schema',
)


@strawberry.type(name='Query')
class MerakiQuery:
    meraki_sync_run: SyncRunType = strawberry_django.field()
    meraki_sync_run_list: list[SyncRunType] = strawberry_django.field()

    meraki_change: ChangeType = strawberry_django.field()
    meraki_change_list: list[ChangeType] = strawberry_django.field()


schema = [MerakiQuery]
