from django.views.generic import View

from utilities.views import ContentTypePermissionRequiredMixin

from ..sync import interrupt_dead_runs

__all__ = ('LiveRunsMixin', 'PermissionRequiredView',)


class PermissionRequiredView(ContentTypePermissionRequiredMixin, View):
    """A page of the plugin that is not about one model: it needs `permission_required` (403 without it)."""

    permission_required = None

    def get_required_permission(self):
        return self.permission_required


class LiveRunsMixin:
    """A page showing runs' status: runs whose process is gone are marked interrupted first, never shown running."""

    def get(self, request, *args, **kwargs):
        interrupt_dead_runs()
        return super().get(request, *args, **kwargs)
