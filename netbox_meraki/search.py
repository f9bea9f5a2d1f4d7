"""What NetBox's global search finds of the plugin: sync runs, by organization, run number, request id and error."""

from netbox.search import SearchIndex

from .models import SyncRun

__all__ = ('SyncRunIndex', 'indexes')


class SyncRunIndex(SearchIndex):
    """
    NetBox indexes a run when it is saved, not when sync.py writes its progress (a queryset update sends no
    signal): a run is indexed a few times in its life, never per batch of changes. Its status changes by such
    updates too, so it is not indexed (it would go stale) but shown, read live, next to each result.
    """

    model = SyncRun
    fields = (
        ('organization_name', 100),
        ('organization_id', 100),
        ('id', 100),
        # The changelog shows a request id: searching it finds the run behind the change.
        ('request_id', 300),
        ('error', 2000),
    )
    display_attrs = ('status', 'mode', 'trigger')


indexes = [SyncRunIndex]
