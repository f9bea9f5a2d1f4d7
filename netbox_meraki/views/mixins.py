from django.views.generic import View

from utilities.views import ContentTypePermissionRequiredMixin

__all__ = ('PermissionRequiredView',)


class PermissionRequiredView(ContentTypePermissionRequiredMixin, View):
    """A page of the plugin that is not about one model: it needs `permission_required` (403 without it)."""

    permission_required = None

    def get_required_permission(self):
        return self.permission_required
