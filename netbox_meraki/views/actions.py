from django.utils.translation import gettext_lazy as _

from netbox.object_actions import ObjectAction

from ..permissions import APPROVE_ACTION

__all__ = ('ApproveSelected', 'RejectSelected', 'UndoRejectionSelected')


class ApproveSelected(ObjectAction):
    """Approve the changes ticked in a table."""

    name = 'bulk_approve'
    label = _('Approve selected')
    multi = True
    permissions_required = {APPROVE_ACTION}
    template_name = 'netbox_meraki/buttons/bulk_approve.html'


class RejectSelected(ObjectAction):
    """Reject the changes ticked in a table."""

    name = 'bulk_reject'
    label = _('Reject selected')
    multi = True
    permissions_required = {APPROVE_ACTION}
    template_name = 'netbox_meraki/buttons/bulk_reject.html'


class UndoRejectionSelected(ObjectAction):
    """Undo the rejection of the changes ticked in a table."""

    name = 'bulk_undo_rejection'
    label = _('Undo rejection')
    multi = True
    permissions_required = {APPROVE_ACTION}
    template_name = 'netbox_meraki/buttons/bulk_undo_rejection.html'
