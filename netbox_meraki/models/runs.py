import logging
import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Job
from netbox.models.features import EventRulesMixin, ExportTemplatesMixin
from utilities.querysets import RestrictedQuerySet

from ..choices import (
    ChangeActionChoices,
    ChangeStateChoices,
    RunStatusChoices,
    RunTriggerChoices,
    SyncModeChoices,
)
from ..secrets import redact

__all__ = ('Change', 'NetworkRead', 'Rejection', 'SyncRun')

logger = logging.getLogger('netbox_meraki.sync')
# Each action's name, as get_action_display() gives it (translated when shown), without the dictionary of choices that
# method builds on every call: a page of 1,000 changes names each one (its checkbox's label).
ACTION_NAMES = dict(ChangeActionChoices)


class SyncRun(EventRulesMixin, ExportTemplatesMixin, models.Model):
    """One sync of one Meraki organization: its plan, what happened to it, and its log."""

    # A run doing something, or waiting for a person to review its plan, is never deleted. A superseded run waits for
    # nothing (its rejections stand apart from it, as Rejection rows), so it can go.
    UNDELETABLE_STATUSES = (RunStatusChoices.PENDING, RunStatusChoices.RUNNING, RunStatusChoices.AWAITING_REVIEW)

    request_id = models.UUIDField(
        default=uuid.uuid4,
        editable=False,
        unique=True,
        help_text=_("NetBox changelog entries of this run carry this request id."),
    )
    organization_id = models.CharField(verbose_name=_('organization id'), max_length=50, db_index=True)
    organization_name = models.CharField(verbose_name=_('organization'), max_length=255, blank=True)
    network_ids = models.JSONField(verbose_name=_('networks'), default=list, blank=True)
    mode = models.CharField(verbose_name=_('mode'), max_length=20, choices=SyncModeChoices)
    status = models.CharField(
        verbose_name=_('status'), max_length=20, choices=RunStatusChoices, default=RunStatusChoices.PENDING,
        db_index=True,
    )
    trigger = models.CharField(verbose_name=_('trigger'), max_length=20, choices=RunTriggerChoices)
    user = models.ForeignKey(
        to=settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name='+', blank=True, null=True,
    )
    job = models.ForeignKey(to=Job, on_delete=models.SET_NULL, related_name='+', blank=True, null=True)
    created = models.DateTimeField(verbose_name=_('created'), default=timezone.now, db_index=True)
    started = models.DateTimeField(verbose_name=_('started'), blank=True, null=True)
    completed = models.DateTimeField(verbose_name=_('completed'), blank=True, null=True)
    # A review's apply has its own start and end: started and completed (and the duration) stay the plan's.
    review_started = models.DateTimeField(verbose_name=_('review apply started'), blank=True, null=True)
    review_completed = models.DateTimeField(verbose_name=_('review apply completed'), blank=True, null=True)
    phase = models.CharField(verbose_name=_('phase'), max_length=50, blank=True)
    # When the phase began: the apply's rate and time left are reckoned from it.
    phase_started = models.DateTimeField(verbose_name=_('phase started'), blank=True, null=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    progress_detail = models.JSONField(
        verbose_name=_('progress detail'), default=list, blank=True,
        help_text=_('While Meraki is read: per endpoint, [label, done, total or null, unit] (pages or networks).'),
    )
    api_calls = models.PositiveIntegerField(verbose_name=_('API calls'), default=0)
    api_rate_limited = models.PositiveIntegerField(verbose_name=_('429 answers'), default=0)
    counts = models.JSONField(
        verbose_name=_('counts'), default=dict, blank=True,
        help_text=_('Planned changes per object type and action.'),
    )
    timings = models.JSONField(
        verbose_name=_('timings'), default=dict, blank=True, help_text=_('Seconds spent in each phase.'),
    )
    error = models.TextField(verbose_name=_('error'), blank=True)
    log = models.JSONField(verbose_name=_('log'), default=list, blank=True)
    cancel_requested = models.BooleanField(default=False)
    full_read = models.BooleanField(
        verbose_name=_('full read'),
        default=False,
        help_text=_(
            'Read every network from Meraki. Otherwise only the networks whose configuration changed since they were '
            'last read are, and what was read then is used for the others.'
        ),
    )

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ('-created',)
        permissions = (('run_syncrun', 'Can start Meraki syncs and cancel them'),)
        verbose_name = _('sync run')
        verbose_name_plural = _('sync runs')

    def __str__(self):
        return f'{self.organization_name or self.organization_id} #{self.pk}'

    def get_absolute_url(self):
        return reverse('plugins:netbox_meraki:syncrun', args=[self.pk])

    def delete(self, *args, **kwargs):
        # The run's changes go in one plain DELETE: Django would otherwise load each of them (a first sync of a large
        # organization plans over 100,000) to send delete signals nothing needs.
        changes = Change.objects.filter(run=self)
        changes._raw_delete(changes.db)
        return super().delete(*args, **kwargs)

    def get_changelog_url(self):
        """NetBox's changelog, showing what this run changed."""
        return f'{reverse("core:objectchange_list")}?request_id={self.request_id}'

    def get_status_color(self):
        return RunStatusChoices.colors.get(self.status)

    def get_mode_color(self):
        return SyncModeChoices.colors.get(self.mode)

    @property
    def duration(self):
        if self.started and self.completed:
            return self.completed - self.started
        return None

    @property
    def review_duration(self):
        """How long the review's apply took (`duration` is the plan's)."""
        if self.review_started and self.review_completed:
            return self.review_completed - self.review_started
        return None

    @property
    def is_finished(self):
        return self.status in RunStatusChoices.FINISHED

    def pace(self, now=None):
        """
        (objects per second, seconds left) of the phase under way, from its progress and its start: known once some
        of it is done, while the run runs. (None, None) otherwise.
        """
        now = now or timezone.now()
        if self.status != RunStatusChoices.RUNNING or not self.phase_started or not self.progress_done:
            return None, None
        elapsed = (now - self.phase_started).total_seconds()
        if elapsed <= 0:
            return None, None
        rate = self.progress_done / elapsed
        return rate, max(0, self.progress_total - self.progress_done) / rate

    def log_line(self, level, message):
        """Add a line to the run's log (saved with the run) and to the Python log."""
        message = redact(message)
        self.log.append({'time': timezone.now().isoformat(timespec='seconds'), 'level': level, 'message': message})
        logger.log(logging.getLevelName(level.upper()), '%s: %s', self, message)

    def cancel_requested_now(self):
        """Whether someone asked, since the run started, for it to stop."""
        if not self.cancel_requested and self.pk:
            self.cancel_requested = SyncRun.objects.filter(pk=self.pk, cancel_requested=True).exists()
        return self.cancel_requested


class Change(ExportTemplatesMixin, models.Model):
    """One planned change to one NetBox object, with the field values before and after."""

    run = models.ForeignKey(to=SyncRun, on_delete=models.CASCADE, related_name='changes')
    sequence = models.PositiveIntegerField(help_text=_('Position in apply order.'))
    action = models.CharField(verbose_name=_('action'), max_length=20, choices=ChangeActionChoices)
    kind = models.CharField(verbose_name=_('object type'), max_length=30, db_index=True)
    meraki_id = models.CharField(verbose_name=_('Meraki identity'), max_length=200)
    object_id = models.PositiveBigIntegerField(verbose_name=_('NetBox object id'), blank=True, null=True)
    object_repr = models.CharField(verbose_name=_('object'), max_length=200)
    scope = models.CharField(
        verbose_name=_('scope'), max_length=50, blank=True, help_text=_('The Meraki network the object belongs to.'),
    )
    before = models.JSONField(verbose_name=_('before'), default=dict, blank=True)
    after = models.JSONField(verbose_name=_('after'), default=dict, blank=True)
    state = models.CharField(
        verbose_name=_('state'), max_length=20, choices=ChangeStateChoices, default=ChangeStateChoices.PENDING,
        db_index=True,
    )
    reason = models.CharField(
        verbose_name=_('reason'), max_length=500, blank=True,
        help_text=_('Why the change is held, or why it failed or conflicted.'),
    )
    cascade = models.JSONField(
        verbose_name=_('also deletes'),
        default=list,
        blank=True,
        help_text=_('What NetBox would delete with the object: [{"type", "id", "name", "owned"}, ...].'),
    )

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ('run', 'sequence')
        permissions = (('approve_change', 'Can approve, reject and apply planned changes'),)
        verbose_name = _('change')
        verbose_name_plural = _('changes')

    def __str__(self):
        from ..kinds import kind_in_text

        return f'{ACTION_NAMES.get(self.action, self.action)} {kind_in_text(self.kind)} {self.object_repr}'

    def get_absolute_url(self):
        return reverse('plugins:netbox_meraki:change', args=[self.pk])

    def get_state_color(self):
        return ChangeStateChoices.colors.get(self.state)

    def get_action_color(self):
        return ChangeActionChoices.colors.get(self.action)

    @property
    def fields(self):
        """Names of the fields this change sets, in a stable order."""
        return sorted(set(self.before) | set(self.after))


class Rejection(models.Model):
    """
    A change a person rejected, standing for the organization's later runs: the same change (object, action and new
    values) is planned as rejected until Meraki wants another value, or until someone undoes the rejection.

    Kept apart from the runs' changes (not read from them) so that it is one small query per plan, whatever the runs
    hold, outlives the run it was made in (runs are deleted after run_retention_days), and is forgotten without
    rewriting a run's history.
    """

    organization_id = models.CharField(max_length=50)
    kind = models.CharField(max_length=30)
    meraki_id = models.CharField(max_length=200)
    action = models.CharField(max_length=20, choices=ChangeActionChoices)
    after = models.JSONField(default=dict, blank=True)
    # The number of the run it was rejected in, kept as a number: the run may be deleted, the rejection stays.
    rejected_in = models.PositiveBigIntegerField()

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=('organization_id', 'kind', 'meraki_id', 'action'), name='netbox_meraki_rejection_unique',
            ),
        )
        verbose_name = _('rejection')
        verbose_name_plural = _('rejections')

    def __str__(self):
        return f'{self.action} {self.kind} {self.meraki_id} rejected in run #{self.rejected_in}'


class NetworkRead(models.Model):
    """
    What the last read of one Meraki network returned from the endpoints read per network, or filtered by network
    (appliance VLANs or single LAN, SSIDs, switch ports, LLDP/CDP topology), and when that read started. A change-driven
    sync reuses it for a network whose configuration has not changed since.
    """

    organization_id = models.CharField(max_length=50)
    network_id = models.CharField(max_length=50)
    read_at = models.DateTimeField()
    data = models.JSONField(default=dict)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=('organization_id', 'network_id'), name='netbox_meraki_networkread_unique'),
        )
        verbose_name = _('network read')
        verbose_name_plural = _('network reads')

    def __str__(self):
        return f'{self.network_id} read {self.read_at:%Y-%m-%d %H:%M}'
