"""Keep NetBox's recurring scheduled-sync job in step with the plugin settings, however they are saved."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import PluginSettings
from .scheduling import sync_schedule

__all__ = ('reschedule_on_settings_change',)


@receiver(post_save, sender=PluginSettings, dispatch_uid='netbox_meraki.reschedule_on_settings_change')
def reschedule_on_settings_change(sender, instance, raw=False, update_fields=None, **kwargs):
    """Create, move or remove the recurring job once saved settings (UI, REST API or code) are committed."""
    if raw:
        return
    # The schedulers' own bookkeeping (last and next times) never moves the schedule by itself.
    if update_fields is not None and set(update_fields) <= PluginSettings.SCHEDULE_TIMING_FIELDS:
        return
    # After commit: settings that are rolled back change nothing, and RQ only hears of committed jobs.
    transaction.on_commit(sync_schedule)
