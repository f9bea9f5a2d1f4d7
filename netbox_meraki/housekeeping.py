"""
Retention of the plugin's own records: a sync every 15 minutes makes 35,000 runs a year per organization, each with
its changes and log. Runs older than PLUGINS_CONFIG['netbox_meraki']['run_retention_days'] are deleted daily, as
NetBox's housekeeping deletes changelog records older than CHANGELOG_RETENTION. Only the plugin's records go: the
objects a run wrote, and their changelog, stay.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.choices import JobIntervalChoices
from netbox.jobs import JobRunner, system_job
from netbox.plugins import get_plugin_config

from .models import Change, SyncRun

__all__ = ('HousekeepingJob', 'delete_expired_runs', 'expired_runs')



def expired_runs(now=None):
    """
    Runs older than the retention, except the newest run of each organization (its dashboard line and what the next
    run is compared with) and runs that are pending, running or awaiting review. None when retention is off (0).
    """
    days = get_plugin_config('netbox_meraki', 'run_retention_days')
    if not days:
        return SyncRun.objects.none()
    newest = SyncRun.objects.order_by('organization_id', '-created', '-pk').distinct('organization_id').values('pk')
    return SyncRun.objects.filter(created__lt=(now or timezone.now()) - timedelta(days=days)).exclude(
        Q(status__in=SyncRun.UNDELETABLE_STATUSES) | Q(pk__in=newest)
    )


def delete_expired_runs(now=None):
    """Delete the expired runs with their changes; return (runs, changes) deleted."""
    with transaction.atomic():
        run_ids = list(expired_runs(now).select_for_update(skip_locked=True).values_list('pk', flat=True))
        if not run_ids:
            return 0, 0
        # Plain DELETEs, as NetBox's housekeeping deletes changelog records: Django would otherwise load every
        # change (a first sync of a large organization has over 100,000) to send delete signals nobody needs.
        changes = Change.objects.filter(run_id__in=run_ids)._raw_delete(Change.objects.db)
        # A few runs a day: deleted as Django deletes them, which clears the ownership records' last_run.
        runs = SyncRun.objects.filter(pk__in=run_ids).delete()[1].get(SyncRun._meta.label, 0)
    return runs, changes


@system_job(interval=JobIntervalChoices.INTERVAL_DAILY)
class HousekeepingJob(JobRunner):
    """Deletes expired runs once a day, on NetBox's RQ worker."""

    class Meta:
        name = 'Meraki housekeeping'

    def run(self, *args, **kwargs):
        days = get_plugin_config('netbox_meraki', 'run_retention_days')
        if not days:
            self.logger.info('Run retention is off (run_retention_days = 0): every run is kept.')
            return
        runs, changes = delete_expired_runs()
        self.logger.info(f'Deleted {runs} runs older than {days} days, with their {changes} changes.')
