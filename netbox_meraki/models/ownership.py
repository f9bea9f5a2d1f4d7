from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from utilities.querysets import RestrictedQuerySet

__all__ = ('SyncedObject',)


class SyncedObject(models.Model):
    """
    A NetBox object the plugin owns, with the Meraki identity it mirrors (a network id, a serial,
    `serial:wan1`, ...). Only objects recorded here are ever changed or deleted by a sync.
    """

    kind = models.CharField(verbose_name=_('kind'), max_length=30)
    meraki_id = models.CharField(verbose_name=_('Meraki identity'), max_length=200)
    object_type = models.ForeignKey(to=ContentType, on_delete=models.CASCADE, related_name='+')
    object_id = models.PositiveBigIntegerField()
    object = GenericForeignKey('object_type', 'object_id')
    organization_id = models.CharField(max_length=50, blank=True)
    network_id = models.CharField(max_length=50, blank=True)
    last_synced = models.DateTimeField(verbose_name=_('last synced'))
    last_run = models.ForeignKey(
        to='netbox_meraki.SyncRun', on_delete=models.SET_NULL, related_name='+', blank=True, null=True,
    )

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ('kind', 'meraki_id')
        constraints = (
            models.UniqueConstraint(fields=('kind', 'meraki_id'), name='netbox_meraki_syncedobject_identity'),
            models.UniqueConstraint(fields=('object_type', 'object_id'), name='netbox_meraki_syncedobject_object'),
        )
        indexes = (models.Index(fields=('kind', 'organization_id')),)
        verbose_name = _('synced object')
        verbose_name_plural = _('synced objects')

    def __str__(self):
        return f'{self.kind} {self.meraki_id}'
