from django.utils.translation import gettext_lazy as _

from utilities.choices import ChoiceSet


class SyncModeChoices(ChoiceSet):
    AUTO = 'auto'
    REVIEW = 'review'
    DRY_RUN = 'dry_run'

    CHOICES = (
        (AUTO, _('Auto (apply at once)'), 'green'),
        (REVIEW, _('Review (approve before applying)'), 'blue'),
        (DRY_RUN, _('Dry run (plan only)'), 'gray'),
    )


class RunStatusChoices(ChoiceSet):
    PENDING = 'pending'
    RUNNING = 'running'
    AWAITING_REVIEW = 'awaiting_review'
    COMPLETED = 'completed'
    PARTIAL = 'partial'
    FAILED = 'failed'
    CANCELLED = 'cancelled'
    INTERRUPTED = 'interrupted'
    SUPERSEDED = 'superseded'

    CHOICES = (
        (PENDING, _('Pending'), 'cyan'),
        (RUNNING, _('Running'), 'blue'),
        (AWAITING_REVIEW, _('Awaiting review'), 'purple'),
        (COMPLETED, _('Completed'), 'green'),
        (PARTIAL, _('Partial'), 'orange'),
        (FAILED, _('Failed'), 'red'),
        (CANCELLED, _('Cancelled'), 'gray'),
        (INTERRUPTED, _('Interrupted'), 'red'),
        (SUPERSEDED, _('Superseded'), 'gray'),
    )
    # A run in one of these states is not doing anything any more.
    FINISHED = (AWAITING_REVIEW, COMPLETED, PARTIAL, FAILED, CANCELLED, INTERRUPTED, SUPERSEDED)


class RunTriggerChoices(ChoiceSet):
    MANUAL = 'manual'
    API = 'api'
    SCHEDULE = 'schedule'
    COMMAND = 'command'
    WEBHOOK = 'webhook'

    CHOICES = (
        (MANUAL, _('Manual (UI)'), 'blue'),
        (API, _('REST API'), 'cyan'),
        (SCHEDULE, _('Schedule'), 'purple'),
        (COMMAND, _('Command line'), 'gray'),
        (WEBHOOK, _('Meraki webhook'), 'orange'),
    )


class ChangeActionChoices(ChoiceSet):
    CREATE = 'create'
    UPDATE = 'update'
    DELETE = 'delete'
    ADOPT = 'adopt'
    MARK = 'mark'

    CHOICES = (
        (CREATE, _('Create'), 'green'),
        (UPDATE, _('Update'), 'blue'),
        (DELETE, _('Delete'), 'red'),
        (ADOPT, _('Adopt'), 'purple'),
        (MARK, _('Mark as removed'), 'orange'),
    )


class ChangeStateChoices(ChoiceSet):
    PENDING = 'pending'
    HELD = 'held'
    APPROVED = 'approved'
    REJECTED = 'rejected'
    APPLIED = 'applied'
    CONFLICT = 'conflict'
    FAILED = 'failed'
    SKIPPED = 'skipped'
    PLANNED = 'planned'
    SUPERSEDED = 'superseded'

    CHOICES = (
        (PENDING, _('Pending'), 'cyan'),
        (HELD, _('Held for review'), 'orange'),
        (APPROVED, _('Approved'), 'blue'),
        (REJECTED, _('Rejected'), 'gray'),
        (APPLIED, _('Applied'), 'green'),
        (CONFLICT, _('Conflict'), 'red'),
        (FAILED, _('Failed'), 'red'),
        (SKIPPED, _('Skipped'), 'gray'),
        (PLANNED, _('Planned only'), 'gray'),
        (SUPERSEDED, _('Superseded'), 'gray'),
    )
    # States of a change still waiting to be applied in a run awaiting review: a newer run's plan supersedes them.
    UNAPPLIED = (PENDING, HELD, APPROVED)
    # How a run's outcome, in its log and on its pages, names its changes in each state (a pending one: see
    # outcome_label).
    OUTCOME_LABELS = {
        HELD: _('held'),
        APPROVED: _('approved'),
        REJECTED: _('rejected'),
        APPLIED: _('applied'),
        CONFLICT: _('conflict'),
        FAILED: _('failed'),
        SKIPPED: _('skipped'),
        PLANNED: _('planned only'),
        SUPERSEDED: _('superseded'),
    }

    @classmethod
    def outcome_label(cls, state, mode):
        """A run's outcome's name for its changes in this state: a pending change awaits a decision only in a review."""
        if state == cls.PENDING:
            return _('awaiting decision') if mode == SyncModeChoices.REVIEW else _('not applied')
        return cls.OUTCOME_LABELS[state]


class DeletePolicyChoices(ChoiceSet):
    DELETE = 'delete'
    MARK = 'mark'
    KEEP = 'keep'

    CHOICES = (
        (DELETE, _('Delete'), 'red'),
        (MARK, _('Mark as removed'), 'orange'),
        (KEEP, _('Keep'), 'gray'),
    )


class ChangeGroupChoices(ChoiceSet):
    """How a changes list groups its rows: by the site (Meraki network) or the device each change is about."""

    SITE = 'site'
    DEVICE = 'device'

    CHOICES = (
        (SITE, _('Site')),
        (DEVICE, _('Device')),
    )
