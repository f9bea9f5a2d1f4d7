from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from netbox.models import ChangeLoggedModel

from ..choices import DeletePolicyChoices, SyncModeChoices
from ..rules import validate_interface_name_rules, validate_prefix_filters, validate_site_name_rules

__all__ = ('PluginSettings', 'DEFAULT_DELETE_POLICY', 'DEFAULT_ROLE_NAMES', 'DEFAULT_STATUS_MAP', 'DELETE_POLICY_KINDS')

# NetBox device role per Meraki product type.
DEFAULT_ROLE_NAMES = {
    'appliance': 'Security Appliance',
    'switch': 'Switch',
    'wireless': 'Access Point',
    'cellularGateway': 'Cellular Gateway',
    'camera': 'Camera',
    'sensor': 'Sensor',
    'systemsManager': 'Systems Manager',
}
# NetBox device status per Meraki availability status.
DEFAULT_STATUS_MAP = {
    'online': 'active',
    'alerting': 'active',
    'offline': 'offline',
    'dormant': 'offline',
}
# Kinds whose names a name transform applies to, and the transforms.
NAME_TRANSFORM_KINDS = ('site', 'device', 'vlan', 'ssid')
NAME_TRANSFORMS = ('keep', 'upper', 'lower', 'title')
# Kinds that can carry extra tags (beyond the plugin's own "meraki" tag).
TAGGED_KINDS = ('site', 'device', 'interface', 'ipaddress', 'macaddress', 'vlan', 'prefix', 'wirelesslan', 'cable')
DEVICE_STATUSES = ('offline', 'active', 'planned', 'staged', 'failed', 'inventory', 'decommissioning')


def default_role_names():
    return dict(DEFAULT_ROLE_NAMES)


def default_status_map():
    return dict(DEFAULT_STATUS_MAP)


# What happens by default to an object Meraki no longer has, chosen for a NetBox people also edit (docs/sync-engine.md):
# the objects people hang their own data on and look up by name (sites, devices, VLANs, prefixes, wireless LANs) are
# marked, so a removal is visible and reversible; ports, addresses, MAC addresses and cables, which only mirror Meraki
# and would block their reuse if kept, are deleted. A deletion that would take along anything the plugin does not own is
# marked (or kept) instead, whatever the policy.
# Object kinds whose removal from Meraki follows a delete policy, and their default policies.
DEFAULT_DELETE_POLICY = {
    'site': DeletePolicyChoices.MARK,
    'device': DeletePolicyChoices.MARK,
    'interface': DeletePolicyChoices.DELETE,
    'ipaddress': DeletePolicyChoices.DELETE,
    'macaddress': DeletePolicyChoices.DELETE,
    'vlan': DeletePolicyChoices.MARK,
    'prefix': DeletePolicyChoices.MARK,
    'wirelesslan': DeletePolicyChoices.MARK,
    'cable': DeletePolicyChoices.DELETE,
    # A configuration template Meraki no longer has: its group goes, unless sites the plugin does not clear (a
    # person's, or its own it keeps) are still in it.
    'sitegroup': DeletePolicyChoices.DELETE,
    # A switch stack has no status to mark: a virtual chassis only groups devices, which stay.
    'virtualchassis': DeletePolicyChoices.DELETE,
}
DELETE_POLICY_KINDS = tuple(DEFAULT_DELETE_POLICY)


def default_delete_policy():
    return dict(DEFAULT_DELETE_POLICY)


def default_name_transforms():
    return dict.fromkeys(NAME_TRANSFORM_KINDS, 'keep')


def default_prefix_filters():
    return {'include': [], 'exclude': [], 'min_length': None, 'max_length': None}


class PluginSettings(ChangeLoggedModel):
    """The plugin's settings, edited in the UI and the REST API. There is exactly one row (pk=1)."""

    default_sync_mode = models.CharField(
        verbose_name=_('default sync mode'),
        max_length=20,
        choices=SyncModeChoices,
        default=SyncModeChoices.REVIEW,
        help_text=_('Mode of a sync started without one: auto applies, review waits for approval, dry run only plans.'),
    )
    organization_ids = models.JSONField(
        verbose_name=_('organizations'),
        default=list,
        blank=True,
        help_text=_('Meraki organization ids to sync; empty means every organization the API key sees.'),
    )
    network_ids = models.JSONField(
        verbose_name=_('networks'),
        default=list,
        blank=True,
        help_text=_('Meraki network ids to sync; empty means every network of the organizations.'),
    )
    adopt_existing = models.BooleanField(
        verbose_name=_('adopt existing objects'),
        default=False,
        help_text=_(
            'Take over NetBox objects that match a Meraki object by serial (devices) or name (sites), through a '
            'planned "adopt" change. Off: such objects are left alone and reported.'
        ),
    )
    manufacturer_name = models.CharField(
        verbose_name=_('manufacturer'),
        max_length=100,
        default='Cisco Meraki',
    )
    role_names = models.JSONField(
        verbose_name=_('device role per product type'),
        default=default_role_names,
    )
    status_map = models.JSONField(
        verbose_name=_('device status per Meraki status'),
        default=default_status_map,
    )
    delete_policy = models.JSONField(
        verbose_name=_('delete policy per kind'),
        default=default_delete_policy,
        help_text=_('What to do with an owned object Meraki no longer has: delete, mark (status) or keep.'),
    )
    deletion_threshold = models.PositiveSmallIntegerField(
        verbose_name=_('deletion threshold (%)'),
        default=25,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_(
            'A run that would remove more than this share of what the plugin owns of a kind in a scope holds '
            'those removals for review, whatever the mode.'
        ),
    )

    # Inventory coverage: VLANs, prefixes, switch ports, wireless, topology, unassigned inventory.
    vrf_per_network = models.BooleanField(
        verbose_name=_('VRF per network'),
        default=True,
        help_text=_('Put each network\'s prefixes and addresses in a VRF of its own, so that overlapping private '
                    'subnets of different networks do not collide.'),
    )
    sync_disabled_ssids = models.BooleanField(
        verbose_name=_('sync disabled SSIDs'),
        default=False,
        help_text=_('Also create wireless LANs for SSIDs that are disabled (by default only enabled ones).'),
    )
    sync_inventory = models.BooleanField(
        verbose_name=_('sync unassigned inventory'),
        default=False,
        help_text=_('Create devices with status "inventory" for claimed devices that are in no network.'),
    )
    sync_switch_stacks = models.BooleanField(
        verbose_name=_('sync switch stacks'),
        default=False,
        help_text=_(
            'Make each Meraki switch stack a virtual chassis of its switches. Costs one API call per network with '
            'switches on each read of that network (getNetworkSwitchStacks: Meraki has no organization-wide list).'
        ),
    )
    inventory_site_name = models.CharField(
        verbose_name=_('inventory site'),
        max_length=100,
        default='Meraki inventory',
        blank=True,
        help_text=_('Site that holds unassigned inventory devices (created when missing). Needed only when unassigned '
                    'inventory is synced.'),
    )
    tenant_per_organization = models.BooleanField(
        verbose_name=_('tenant per organization'),
        default=False,
        help_text=_('Give every object the sync owns (and whose type has a tenant) the tenant named after its Meraki '
                    'organization, created when missing. Off: tenants are left as people set them.'),
    )
    site_name_rules = models.JSONField(
        verbose_name=_('site-name rules'),
        default=list,
        blank=True,
        help_text=_('Ordered rules {"regex": ..., "template": ...}: the first whose regex matches the network name '
                    'names the site, from the template and the regex\'s named groups.'),
    )
    prefix_filters = models.JSONField(
        verbose_name=_('prefix filters'),
        default=default_prefix_filters,
        blank=True,
        help_text=_('Subnets to sync: include and exclude lists of CIDRs, and prefix length bounds.'),
    )
    name_transforms = models.JSONField(
        verbose_name=_('name transforms'),
        default=default_name_transforms,
        blank=True,
        help_text=_('keep, upper, lower or title, for site, device, VLAN and SSID names.'),
    )
    interface_name_rules = models.JSONField(
        verbose_name=_('interface-name rules'),
        default=list,
        blank=True,
        help_text=_('Ordered rules {"models": ..., "regex": ..., "template": ...}: the first whose "models" regex '
                    'matches the device model (all models when empty) and whose regex matches Meraki\'s port name '
                    'names the interface, so that it matches the device type\'s templates (1 -> Port 1).'),
    )
    extra_tags = models.JSONField(
        verbose_name=_('tags per kind'),
        default=dict,
        blank=True,
        help_text=_('Tag slugs to add, per kind, to the objects the sync creates.'),
    )

    # Scheduled syncs.
    enable_scheduled_sync = models.BooleanField(
        verbose_name=_('enable scheduled sync'),
        default=False,
    )
    sync_interval_minutes = models.PositiveIntegerField(
        verbose_name=_('sync interval (minutes)'),
        default=60,
        help_text=_('Minutes between scheduled syncs; at least 5.'),
    )
    scheduled_sync_mode = models.CharField(
        verbose_name=_('scheduled sync mode'),
        max_length=20,
        choices=SyncModeChoices,
        default=SyncModeChoices.REVIEW,
    )
    full_read_hours = models.PositiveSmallIntegerField(
        verbose_name=_('full read every (hours)'),
        default=24,
        validators=[MaxValueValidator(720)],
        help_text=_(
            'Between full reads, a sync reads from Meraki only the networks whose configuration changed (Meraki\'s '
            'change log), and reuses the last read of the others. 0: every sync reads every network.'
        ),
    )
    last_scheduled_sync = models.DateTimeField(
        verbose_name=_('last scheduled sync'),
        blank=True,
        null=True,
        editable=False,
    )
    next_scheduled_sync = models.DateTimeField(
        verbose_name=_('next scheduled sync'),
        blank=True,
        null=True,
        editable=False,
    )

    # A scheduled sync that could not start any run (the key refused, Meraki unreachable): when, and why with what to
    # check. Cleared by the next scheduled sync that starts runs. Never holds the key (the reason is redacted).
    schedule_failed_at = models.DateTimeField(
        verbose_name=_('scheduled sync failed at'),
        blank=True,
        null=True,
        editable=False,
    )
    schedule_failure = models.TextField(
        verbose_name=_('scheduled sync failure'),
        blank=True,
        editable=False,
    )

    # Fewest minutes between two scheduled syncs.
    MINIMUM_SYNC_INTERVAL = 5
    # Fields only the schedulers write; saving them alone does not reschedule the recurring job.
    SCHEDULE_TIMING_FIELDS = frozenset({
        'last_scheduled_sync', 'next_scheduled_sync', 'schedule_failed_at', 'schedule_failure',
    })

    class Meta:
        verbose_name = _('settings')
        verbose_name_plural = _('settings')

    def __str__(self):
        return str(_('Meraki settings'))

    def get_absolute_url(self):
        return reverse('plugins:netbox_meraki:settings')

    def clean(self):
        super().clean()
        errors = {}
        for field in ('organization_ids', 'network_ids'):
            value = getattr(self, field)
            if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
                errors[field] = _('Enter a list of Meraki ids (strings).')
        for field in ('role_names', 'status_map', 'delete_policy'):
            if not isinstance(getattr(self, field), dict):
                raise ValidationError({field: _('Enter a mapping (JSON object).')})
        if set(self.role_names) - set(DEFAULT_ROLE_NAMES) or not all(
            isinstance(name, str) and name.strip() for name in self.role_names.values()
        ):
            errors['role_names'] = _('Use product types {types} with non-empty role names.').format(
                types=', '.join(DEFAULT_ROLE_NAMES)
            )
        if set(self.status_map) - set(DEFAULT_STATUS_MAP) or not set(self.status_map.values()) <= set(DEVICE_STATUSES):
            errors['status_map'] = _('Map Meraki statuses {meraki} to NetBox statuses {netbox}.').format(
                meraki=', '.join(DEFAULT_STATUS_MAP), netbox=', '.join(DEVICE_STATUSES)
            )
        if set(self.delete_policy) - set(DELETE_POLICY_KINDS) or not set(self.delete_policy.values()) <= set(
            DeletePolicyChoices.values()
        ):
            errors['delete_policy'] = _('Give kinds {kinds} one of the policies {policies}.').format(
                kinds=', '.join(DELETE_POLICY_KINDS), policies=', '.join(DeletePolicyChoices.values())
            )
        for field, validate in (
            ('site_name_rules', validate_site_name_rules),
            ('interface_name_rules', validate_interface_name_rules),
            ('prefix_filters', validate_prefix_filters),
        ):
            try:
                validate(getattr(self, field))
            except ValidationError as exc:
                errors[field] = exc.messages
        if not isinstance(self.name_transforms, dict) or set(self.name_transforms) - set(NAME_TRANSFORM_KINDS) or not (
            set(self.name_transforms.values()) <= set(NAME_TRANSFORMS)
        ):
            errors['name_transforms'] = _('Give kinds {kinds} one of the transforms {transforms}.').format(
                kinds=', '.join(NAME_TRANSFORM_KINDS), transforms=', '.join(NAME_TRANSFORMS)
            )
        if not isinstance(self.extra_tags, dict) or set(self.extra_tags) - set(TAGGED_KINDS) or not all(
            isinstance(slugs, list) and all(isinstance(slug, str) and slug for slug in slugs)
            for slugs in self.extra_tags.values()
        ):
            errors['extra_tags'] = _('Give kinds {kinds} lists of tag slugs.').format(kinds=', '.join(TAGGED_KINDS))
        if self.sync_inventory and not (self.inventory_site_name or '').strip():
            errors['inventory_site_name'] = _(
                'Name the site that holds unassigned inventory: syncing unassigned inventory needs one.'
            )
        if self.sync_interval_minutes is not None and self.sync_interval_minutes < self.MINIMUM_SYNC_INTERVAL:
            errors['sync_interval_minutes'] = _(
                'Scheduled syncs cannot run more often than every {minimum} minutes.'
            ).format(minimum=self.MINIMUM_SYNC_INTERVAL)
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls):
        """Return the settings row, creating it with defaults on first use."""
        settings, _created = cls.objects.get_or_create(pk=1)
        return settings

    def role_name(self, product_type):
        return self.role_names.get(product_type) or DEFAULT_ROLE_NAMES.get(product_type) or product_type

    def policy_for(self, kind):
        return self.delete_policy.get(kind) or DEFAULT_DELETE_POLICY.get(kind, DeletePolicyChoices.DELETE)

    @property
    def sync_interval(self):
        return timedelta(minutes=self.sync_interval_minutes)

    def should_run_scheduled_sync(self, now=None):
        """
        Whether a scheduled sync is due at `now` (default: the current time): the schedule is enabled and either no
        scheduled sync has run yet or the next scheduled time has been reached. Every scheduler asks this.
        """
        if not self.enable_scheduled_sync:
            return False
        if self.last_scheduled_sync is None or self.next_scheduled_sync is None:
            return True
        return (now or timezone.now()) >= self.next_scheduled_sync

    def update_next_sync_time(self, now=None, save=True):
        """Set the next scheduled sync to one interval after `now` (default: the current time) and return it."""
        self.next_scheduled_sync = (now or timezone.now()) + self.sync_interval
        if save:
            self.save(update_fields=['next_scheduled_sync'])
        return self.next_scheduled_sync

    def resumed_sync_time(self, now=None):
        """
        When a schedule that is (re)started at `now` should first run: one interval after the last scheduled
        sync, or at once when that time has passed or no scheduled sync has run yet.
        """
        now = now or timezone.now()
        if self.last_scheduled_sync is None:
            return now
        return max(self.last_scheduled_sync + self.sync_interval, now)
