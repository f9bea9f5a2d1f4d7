import logging

from core.exceptions import JobFailed
from netbox.jobs import JobRunner

from .choices import RunStatusChoices
from .models import SyncRun

__all__ = ('SyncJob',)


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
        if run.status in (RunStatusChoices.FAILED, RunStatusChoices.INTERRUPTED):
            raise JobFailed(run.error)
