"""
Retention of the plugin's own records: a sync every 15 minutes makes 35,000 runs a year per organization, each with
its changes and log. Runs older than PLUGINS_CONFIG['netbox_meraki']['run_retention_days'] are deleted daily, as
NetBox's housekeeping deletes changelog records older than CHANGELOG_RETENTION. Only the plugin's records go: the
objects a run wrote, and their changelog, stay. Stored network reads that no sync can reuse any more (older than a
full read's interval: those of an organization or network no longer synced) go too.
"""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from core.choices import JobIntervalChoices
from netbox.jobs import JobRunner, system_job
from netbox.plugins import get_plugin_config

from .models import NetworkRead, PluginSettings, SyncRun

__all__ = ('HousekeepingJob', 'delete_expired_reads', 'delete_expired_runs', 'expired_runs')


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
    runs = changes = 0
    # A few runs a day: each deleted as the runs list deletes it (SyncRun.delete() drops its changes in one DELETE).
    for run in list(expired_runs(now).defer('log')):
        changes += run.changes.count()
        run.delete()
        runs += 1
    return runs, changes


def delete_expired_reads(now=None):
    """
    Delete the network reads older than full_read_hours: a sync reads every network again rather than reuse them (see
    sync.previous_reads), so only those of organizations and networks no longer synced grow that old. Returns how many.
    """
    oldest = (now or timezone.now()) - timedelta(hours=max(1, PluginSettings.load().full_read_hours))
    deleted, _by_model = NetworkRead.objects.filter(read_at__lt=oldest).delete()
    return deleted


@system_job(interval=JobIntervalChoices.INTERVAL_DAILY)
class HousekeepingJob(JobRunner):
    """Deletes expired runs once a day, on NetBox's RQ worker."""

    class Meta:
        name = 'Meraki housekeeping'

    def run(self, *args, **kwargs):
        if reads := delete_expired_reads():
            self.logger.info(f'Deleted {reads} stored network reads no sync can reuse.')
        days = get_plugin_config('netbox_meraki', 'run_retention_days')
        if not days:
            self.logger.info('Run retention is off (run_retention_days = 0): every run is kept.')
            return
        runs, changes = delete_expired_runs()
        self.logger.info(f'Deleted {runs} runs older than {days} days, with their {changes} changes.')
