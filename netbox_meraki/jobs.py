import logging

from django.utils import timezone

from core.exceptions import JobFailed
from netbox.jobs import JobRunner

from .choices import RunStatusChoices
from .models import SyncRun

__all__ = ('ScheduledSyncJob', 'SyncJob', 'WebhookSyncJob')


class SyncJob(JobRunner):
    """Runs one organization's sync, or applies its approved review, on an RQ worker."""

    class Meta:
        name = 'Meraki sync'

    def run(self, run_id, action='sync', *args, **kwargs):
        from .sync import execute_review, execute_run

        run = SyncRun.objects.get(pk=run_id)
        if run.job_id != self.job.pk:
            run.job = self.job
            run.save(update_fields=['job'])
        run = execute_review(run) if action == 'apply' else execute_run(run)
        for line in run.log:
            self.logger.log(logging.getLevelName(line['level'].upper()), line['message'])
        # NetBox's job statuses have no "partial" or "awaiting review": the job's data and last log line say it.
        self.job.data = run_summary(run)
        self.logger.info(f'Run #{run.pk} of {self.job.data["organization"]}: {run.get_status_display().lower()}. '
                         f'{run.get_absolute_url()}')
        if run.status in (RunStatusChoices.FAILED, RunStatusChoices.INTERRUPTED):
            raise JobFailed(run.error)


def run_summary(run):
    """What a run's job records of it: the run, its organization, its status and what became of its changes."""
    from .tables.display import outcome_counts

    return {
        'run': run.pk,
        'url': run.get_absolute_url(),
        'organization': run.organization_name or run.organization_id,
        'organization_id': run.organization_id,
        'mode': run.mode,
        'status': run.status,
        'planned': run.counts,
        'outcome': outcome_counts([run]).get(run.pk, {}),
        'error': run.error,
    }


class ScheduledSyncJob(JobRunner):
    """
    The recurring job of NetBox-native scheduling: when a scheduled sync is due, starts one SyncJob per organization
    in the scheduled mode. Saving the settings creates, moves or removes it (netbox_meraki.scheduling.sync_schedule).
    """

    class Meta:
        name = 'Meraki scheduled sync'

    def run(self, *args, **kwargs):
        from .scheduling import FAILED, run_scheduled_sync

        # This occurrence stands for its scheduled time, even when the worker picks it up a moment early.
        now = timezone.now()
        if self.job.scheduled and self.job.scheduled > now:
            now = self.job.scheduled
        outcome = run_scheduled_sync(now=now, background=True, realign=False)
        self.job.data = outcome.as_dict()
        level = logging.ERROR if outcome.status == FAILED else logging.INFO
        self.logger.log(level, outcome.message)
        for line in outcome.details:
            self.logger.info(line)
        if outcome.status == FAILED:
            raise JobFailed(outcome.message)

    @classmethod
    def handle(cls, job, *args, **kwargs):
        # JobRunner.handle runs the job and enqueues the next occurrence one interval on; then the settings and
        # that occurrence are brought into agreement.
        super().handle(job, *args, **kwargs)
        from .scheduling import reconcile_after_job

        try:
            reconcile_after_job(job)
        except Exception:
            logging.getLogger('netbox_meraki.scheduling').exception('Could not reschedule the scheduled Meraki sync')


class WebhookSyncJob(JobRunner):
    """
    Ends a window of Meraki webhooks of one organization: syncs the networks its alerts named, as one run
    (netbox_meraki.webhooks). Scheduled by the window's first alert, for the window's end.
    """

    class Meta:
        name = 'Meraki webhook sync'

    def run(self, organization_id, *args, **kwargs):
        from .webhooks import sync_pending_networks

        run = sync_pending_networks(organization_id, job=self.job, log=self.logger)
        if run is None:
            return
        for line in run.log:
            self.logger.log(logging.getLevelName(line['level'].upper()), line['message'])
        if run.status in (RunStatusChoices.FAILED, RunStatusChoices.INTERRUPTED):
            raise JobFailed(run.error)
