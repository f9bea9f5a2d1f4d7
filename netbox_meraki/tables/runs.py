from functools import cached_property

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from netbox.tables import NetBoxTable, columns

from ..models import SyncRun
from .display import (
    EMPTY,
    action_totals,
    outcome_counts,
    outcome_parts,
    render_action_totals,
    render_outcome,
    run_duration,
    shown_records,
    total_changes,
)

__all__ = ('ReviewRunTable', 'SyncRunTable')


class SyncRunTable(NetBoxTable):
    id = tables.Column(verbose_name=_('ID'), linkify=True)
    organization = tables.Column(
        verbose_name=_('Organization'), accessor='organization_name', linkify=True,
        order_by=('organization_name', 'organization_id'),
    )
    organization_id = tables.Column(verbose_name=_('Organization ID'))
    networks = tables.Column(verbose_name=_('Networks'), accessor='network_ids', orderable=False)
    mode = columns.ChoiceFieldColumn(verbose_name=_('Mode'))
    full_read = columns.BooleanColumn(verbose_name=_('Full read'))
    status = columns.ChoiceFieldColumn(verbose_name=_('Status'))
    trigger = tables.Column(verbose_name=_('Trigger'))
    user = tables.Column(verbose_name=_('User'))
    phase = tables.Column(verbose_name=_('Phase'))
    progress = tables.Column(verbose_name=_('Progress'), accessor='progress_done', orderable=False)
    created = columns.DateTimeColumn(verbose_name=_('Created'))
    started = columns.DateTimeColumn(verbose_name=_('Started'))
    completed = columns.DateTimeColumn(verbose_name=_('Completed'))
    duration = tables.Column(verbose_name=_('Duration'), accessor='pk', orderable=False)
    changes = tables.Column(verbose_name=_('Planned'), accessor='counts', orderable=False)
    changes_total = tables.Column(verbose_name=_('Total changes'), accessor='counts', orderable=False)
    # What became of the changes, beside what was planned: a dry run, a half-decided review and an applied run differ.
    outcome = tables.Column(verbose_name=_('Outcome'), accessor='pk', orderable=False)
    api_calls = tables.Column(verbose_name=_('API calls'))
    api_rate_limited = tables.Column(verbose_name=_('429 answers'))
    error = tables.Column(verbose_name=_('Error'))
    # What the run changed, in NetBox's changelog: its entries carry this request id.
    request_id = tables.Column(
        verbose_name=_('Request ID'), linkify=lambda record: record.get_changelog_url(), orderable=False,
    )
    actions = None

    class Meta(NetBoxTable.Meta):
        model = SyncRun
        fields = (
            'pk', 'id', 'organization', 'organization_id', 'networks', 'mode', 'full_read', 'status', 'trigger', 'user',
            'phase', 'progress', 'created', 'started', 'completed', 'duration', 'changes', 'changes_total', 'outcome',
            'api_calls', 'api_rate_limited', 'error', 'request_id',
        )
        default_columns = (
            'id', 'organization', 'mode', 'status', 'trigger', 'user', 'created', 'duration', 'changes', 'outcome',
            'api_calls',
        )

    def render_organization(self, value, record):
        return value or record.organization_id

    def render_networks(self, value):
        return ', '.join(value) if value else _('All')

    def render_progress(self, record):
        if not record.progress_total:
            return EMPTY
        return f'{record.progress_done} / {record.progress_total}'

    def render_duration(self, record):
        return run_duration(record) or EMPTY

    def render_changes(self, value):
        return render_action_totals(value)

    def render_changes_total(self, value):
        return total_changes(value)

    def value_changes(self, value):
        return ' '.join(f'{action}={number}' for action, number in action_totals(value).items())

    @cached_property
    def outcomes(self):
        """What became of the changes of the runs shown (see outcome_counts()): this page's, looked up at once."""
        return outcome_counts(shown_records(self))

    def render_outcome(self, record):
        return render_outcome(record, self.outcomes.get(record.pk, {}))

    def value_outcome(self, record):
        return ' '.join(f'{label.replace(" ", "_")}={number}'
                        for label, _color, number in outcome_parts(record, self.outcomes.get(record.pk, {})))

    def render_error(self, value):
        return format_html('<span class="text-danger">{}</span>', value[:200]) if value else EMPTY

    # Exports carry the whole error, without the page's colour and cut.
    def value_error(self, value):
        return value


class ReviewRunTable(SyncRunTable):
    """Runs awaiting review, each leading to its changes."""

    id = tables.Column(
        verbose_name=_('ID'),
        linkify=lambda record: reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': record.pk}),
    )
    undecided = tables.Column(verbose_name=_('Awaiting decision'))

    class Meta(SyncRunTable.Meta):
        fields = (*SyncRunTable.Meta.fields, 'undecided')
        default_columns = ('id', 'organization', 'mode', 'trigger', 'created', 'changes', 'outcome', 'undecided')
