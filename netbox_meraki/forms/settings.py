"""
The configuration tabs. Each form edits some of PluginSettings' fields: a plain field as it is, a JSON field
through one form field per key (a role per product type, a policy per kind, ...), and saves through the model's
full_clean(), so that the reasons PluginSettings.clean() gives land next to the fields they are about.
"""

import ipaddress
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from dcim.models import Device
from utilities.forms.rendering import FieldSet

from ..choices import DeletePolicyChoices
from ..kinds import KINDS
from ..models import PluginSettings, SyncedObject
from ..models.settings import (
    DEFAULT_DELETE_POLICY,
    DEFAULT_ROLE_NAMES,
    DEFAULT_STATUS_MAP,
    DELETE_POLICY_KINDS,
    DEVICE_STATUSES,
    NAME_TRANSFORM_KINDS,
    NAME_TRANSFORMS,
    TAGGED_KINDS,
)
from .fields import IdListField, NetworkIdsField, TagSlugsField

__all__ = (
    'CleanupSettingsForm', 'InterfaceNameRuleFormSet', 'MappingSettingsForm', 'OrganizationSettingsForm',
    'RulesSettingsForm', 'SchedulingSettingsForm', 'SiteNameRuleFormSet',
)

PRODUCT_TYPE_LABELS = {
    'appliance': _('Security appliances (MX, Z)'),
    'switch': _('Switches (MS)'),
    'wireless': _('Access points (MR, CW)'),
    'cellularGateway': _('Cellular gateways (MG)'),
    'camera': _('Cameras (MV)'),
    'sensor': _('Sensors (MT)'),
    'systemsManager': _('Systems Manager'),
}
KIND_LABELS = {'ssid': _('SSIDs')}
MERAKI_STATUS_LABELS = {
    'online': _('Online'),
    'alerting': _('Alerting'),
    'offline': _('Offline'),
    'dormant': _('Dormant'),
}


def kind_label(kind):
    """A kind as people call it: the plural name of its NetBox model (Sites, IP addresses, Wireless LANs)."""
    if kind in KIND_LABELS:
        return KIND_LABELS[kind]
    if spec := KINDS.get(kind):
        name = str(spec.model._meta.verbose_name_plural)
        return name[:1].upper() + name[1:]
    return kind


def policy_help(kind, chosen):
    """
    What each delete policy does to an object of this kind that Meraki no longer has, the chosen one shown (the
    Cleanup tab's script shows another when the select changes), and the kind's default.
    """
    spec = KINDS.get(kind)
    if spec is None or not spec.mark:
        marked = _('It has no status to mark: "mark" keeps it in NetBox as it is.')
    else:
        marked = _('It stays in NetBox, marked as removed: {changes}; Meraki listing it again undoes the '
                   'mark.').format(
            changes=', '.join(f'{field} becomes {value}' for field, value in spec.mark.items()))
    outcomes = {
        DeletePolicyChoices.DELETE: _('It is deleted from NetBox. A deletion that would take along objects the '
                                      'plugin does not own (a prefix, an address or a journal entry people made '
                                      'under it) marks it, or keeps it, instead.'),
        DeletePolicyChoices.MARK: marked,
        DeletePolicyChoices.KEEP: _('It stays in NetBox as it is, still owned by the plugin.'),
    }
    default = dict(DeletePolicyChoices)[DEFAULT_DELETE_POLICY[kind]]
    return format_html(
        '{} <span class="text-secondary">{}</span>',
        format_html_join(' ', '<span data-policy="{}"{}>{}</span>', (
            (policy, '' if policy == chosen else mark_safe(' class="d-none"'), text)
            for policy, text in outcomes.items()
        )),
        _('Default: {default}.').format(default=default),
    )


def switch_stack_cost():
    """What reading switch stacks costs, with the number of switch networks the plugin's devices are in today."""
    networks = Device.objects.filter(
        pk__in=SyncedObject.objects.filter(kind='device').values('object_id'),
        role__name=PluginSettings.load().role_name('switch'),
    ).values('site').distinct().count()
    return _(
        'Make each Meraki switch stack a virtual chassis of its switches. Meraki lists stacks per network only '
        '(getNetworkSwitchStacks): one API call per network with switches on each read of it, {count} call(s) per '
        'full read for the {count} network(s) with switches synced now. Off: virtual chassis are not read, and '
        'neither made nor changed.'
    ).format(count=networks)


class SettingsTabForm(forms.Form):
    """
    One tab of the configuration.

    `plain` names PluginSettings fields edited as they are (their form fields come from the model unless declared);
    `composed()` maps a JSON field to {key: form field name}.
    """

    plain = ()

    def __init__(self, *args, instance, **kwargs):
        self.instance = instance
        super().__init__(*args, **kwargs)
        for name in self.plain:
            if name not in self.fields:
                self.fields[name] = PluginSettings._meta.get_field(name).formfield()
        self.initial = {**self.initial_values(), **self.initial}

    def composed(self):
        return {}

    def initial_values(self):
        initial = {name: getattr(self.instance, name) for name in self.plain}
        for name, keys in self.composed().items():
            value = getattr(self.instance, name) or {}
            for key, field in keys.items():
                initial[field] = value.get(key)
        return initial

    def model_values(self):
        """The PluginSettings field values this tab's cleaned data stands for."""
        values = {name: self.cleaned_data[name] for name in self.plain}
        for name, keys in self.composed().items():
            values[name] = {key: self.cleaned_data[field] for key, field in keys.items()}
        return values

    def clean(self):
        cleaned_data = super().clean()
        if self.errors:
            return cleaned_data
        values = self.model_values()
        for name, value in values.items():
            setattr(self.instance, name, value)
        others = [field.name for field in PluginSettings._meta.concrete_fields if field.name not in values]
        try:
            self.instance.full_clean(exclude=others, validate_unique=False)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                for message in messages:
                    self.add_model_error(name, message)
        return cleaned_data

    def add_model_error(self, name, message):
        """Put an error of PluginSettings' field `name` next to the form field it is about."""
        if name in self.fields:
            self.add_error(name, message)
            return
        if keys := self.composed().get(name):
            # Validators name the key they refuse in quotes ("include", "min_length"): point at that field.
            field = next((field for key, field in keys.items() if f'"{key}"' in message), next(iter(keys.values())))
            self.add_error(field, message)
            return
        label = PluginSettings._meta.get_field(name).verbose_name if name != '__all__' else ''
        self.add_error(None, f'{label}: {message}' if label else message)

    def save(self):
        self.instance.save()
        return self.instance


class OrganizationSettingsForm(SettingsTabForm):
    plain = ('default_sync_mode', 'organization_ids', 'network_ids')
    organization_ids = IdListField(
        label=_('Organizations'),
        help_text=_('Meraki organization ids, one per line. Empty: every organization the API key sees.'),
    )
    network_ids = NetworkIdsField(
        label=_('Networks'),
        help_text=_('Type to search the networks the plugin has synced or read (of the organizations above, once '
                    'saved). Empty: every network of the organizations.'),
    )
    fieldsets = (
        FieldSet('organization_ids', 'network_ids', name=_('What to sync')),
        FieldSet('default_sync_mode', name=_('Mode')),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        networks = self.fields['network_ids']
        networks.organizations = list(self.instance.organization_ids)
        # Any known network is valid, as the organizations may change in the same save; the networks configured today
        # stay valid, known or not, so that saving the mode does not refuse them.
        networks.offer(kept=self.instance.network_ids)


class MappingSettingsForm(SettingsTabForm):
    plain = (
        'manufacturer_name', 'adopt_existing', 'vrf_per_network', 'sync_disabled_ssids', 'sync_inventory',
        'inventory_site_name', 'sync_switch_stacks', 'tenant_per_organization',
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for product_type, default in DEFAULT_ROLE_NAMES.items():
            self.fields[f'role_{product_type}'] = forms.CharField(
                label=PRODUCT_TYPE_LABELS.get(product_type, product_type), max_length=100,
                help_text=_('Default: {default}').format(default=default),
            )
        for status in DEFAULT_STATUS_MAP:
            self.fields[f'status_{status}'] = forms.ChoiceField(
                label=MERAKI_STATUS_LABELS.get(status, status), choices=[(s, s) for s in DEVICE_STATUSES],
            )
        for kind in NAME_TRANSFORM_KINDS:
            self.fields[f'transform_{kind}'] = forms.ChoiceField(
                label=kind_label(kind), choices=[(t, t) for t in NAME_TRANSFORMS],
            )
        for kind in TAGGED_KINDS:
            self.fields[f'tags_{kind}'] = TagSlugsField(label=kind_label(kind), help_text='')
        self.initial = {**self.initial_values(), **self.initial}
        self.fields['sync_switch_stacks'].help_text = switch_stack_cost()
        self.fieldsets = (
            FieldSet(
                'manufacturer_name', *(f'role_{p}' for p in DEFAULT_ROLE_NAMES),
                name=_('Manufacturer and device role per product type'),
            ),
            FieldSet(*(f'status_{s}' for s in DEFAULT_STATUS_MAP), name=_('Device status per Meraki status')),
            FieldSet(*(f'transform_{k}' for k in NAME_TRANSFORM_KINDS), name=_('Name transform per kind')),
            FieldSet(*(f'tags_{k}' for k in TAGGED_KINDS), name=_('Extra tags per kind')),
            FieldSet(
                'adopt_existing', 'vrf_per_network', 'sync_disabled_ssids', 'sync_inventory', 'inventory_site_name',
                'sync_switch_stacks', 'tenant_per_organization', name=_('Coverage'),
            ),
        )

    def composed(self):
        return {
            'role_names': {product_type: f'role_{product_type}' for product_type in DEFAULT_ROLE_NAMES},
            'status_map': {status: f'status_{status}' for status in DEFAULT_STATUS_MAP},
            'name_transforms': {kind: f'transform_{kind}' for kind in NAME_TRANSFORM_KINDS},
            'extra_tags': {kind: f'tags_{kind}' for kind in TAGGED_KINDS},
        }

    def initial_values(self):
        initial = super().initial_values()
        for kind in NAME_TRANSFORM_KINDS:
            initial[f'transform_{kind}'] = initial.get(f'transform_{kind}') or 'keep'
        for kind in TAGGED_KINDS:
            initial[f'tags_{kind}'] = initial.get(f'tags_{kind}') or []
        return initial

    def model_values(self):
        values = super().model_values()
        values['extra_tags'] = {kind: slugs for kind, slugs in values['extra_tags'].items() if slugs}
        return values


class CidrListField(IdListField):
    """Subnets typed one per line, each checked to be a CIDR."""

    def clean(self, value):
        cidrs = super().clean(value)
        for cidr in cidrs:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValidationError(
                    _('{value} is not a CIDR (for example 10.0.0.0/8).').format(value=cidr)
                ) from None
        return cidrs


class SiteNameRuleForm(forms.Form):
    regex = forms.CharField(
        label=_('Network name matches'), required=False,
        widget=forms.TextInput(attrs={
            'class': 'font-monospace', 'placeholder': '^(?P<city>[A-Z]{3})-(?P<number>\\d+)',
        }),
    )
    template = forms.CharField(
        label=_('Site name'), required=False,
        widget=forms.TextInput(attrs={'class': 'font-monospace', 'placeholder': '{city} branch {number}'}),
    )


class InterfaceNameRuleForm(forms.Form):
    models = forms.CharField(
        label=_('Device model matches'), required=False,
        widget=forms.TextInput(attrs={'class': 'font-monospace', 'placeholder': '^MS1[23]0'}),
    )
    regex = forms.CharField(
        label=_('Port name matches'), required=False,
        widget=forms.TextInput(attrs={'class': 'font-monospace', 'placeholder': '(?P<port>\\d+)'}),
    )
    template = forms.CharField(
        label=_('Interface name'), required=False,
        widget=forms.TextInput(attrs={'class': 'font-monospace', 'placeholder': 'GigabitEthernet1/0/{port}'}),
    )


SiteNameRuleFormSet = forms.formset_factory(SiteNameRuleForm, extra=1, can_delete=True)
InterfaceNameRuleFormSet = forms.formset_factory(InterfaceNameRuleForm, extra=1, can_delete=True)


class RulesSettingsForm(SettingsTabForm):
    """Site-name and interface-name rules (rows of a formset each) and prefix filters."""

    # Each list of rules: its PluginSettings field, the formset of its rows, the formset's prefix, and the message
    # that points at a row a rule's error was put on.
    RULE_LISTS = (
        ('site_name_rules', SiteNameRuleFormSet, 'rule', _('A site-name rule cannot work: see the rule marked below.')),
        ('interface_name_rules', InterfaceNameRuleFormSet, 'interface_rule',
         _('An interface-name rule cannot work: see the rule marked below.')),
    )

    prefix_include = CidrListField(
        label=_('Include'), help_text=_('Only subnets inside one of these (one per line). Empty: every subnet.'),
    )
    prefix_exclude = CidrListField(label=_('Exclude'), help_text=_('No subnet inside one of these.'))
    prefix_min_length = forms.IntegerField(
        label=_('Shortest prefix length'), required=False, min_value=0, max_value=128,
        help_text=_('For example 16: nothing larger than a /16.'),
    )
    prefix_max_length = forms.IntegerField(
        label=_('Longest prefix length'), required=False, min_value=0, max_value=128,
        help_text=_('For example 29: nothing smaller than a /29.'),
    )
    fieldsets = (
        FieldSet('prefix_include', 'prefix_exclude', 'prefix_min_length', 'prefix_max_length',
                 name=_('Prefix filters')),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.formsets = {
            name: formset_class(
                self.data if self.is_bound else None, prefix=prefix,
                initial=[] if self.is_bound else list(getattr(self.instance, name) or []),
            )
            for name, formset_class, prefix, _label in self.RULE_LISTS
        }
        self.rules = self.formsets['site_name_rules']
        self.interface_rules = self.formsets['interface_name_rules']

    def composed(self):
        return {'prefix_filters': {
            'include': 'prefix_include', 'exclude': 'prefix_exclude', 'min_length': 'prefix_min_length',
            'max_length': 'prefix_max_length',
        }}

    def initial_values(self):
        initial = super().initial_values()
        for key in ('prefix_include', 'prefix_exclude'):
            initial[key] = initial.get(key) or []
        return initial

    def posted(self, name):
        """Whether the post holds the rows of a rule list: one that does not (an older client) leaves it as it is."""
        return f'{self.formsets[name].prefix}-TOTAL_FORMS' in self.data

    def rule_rows(self, name='site_name_rules'):
        """The filled-in rows of a rule list, in order, each with the form it came from."""
        rows = []
        for form in self.formsets[name].forms:
            data = getattr(form, 'cleaned_data', None) or {}
            rule = {key: data.get(key) or '' for key in form.fields if key != 'DELETE'}
            if data.get('DELETE') or not any(rule.values()):
                continue
            rows.append((form, rule))
        return rows

    def site_name_rules(self):
        return [rule for _form, rule in self.rule_rows('site_name_rules')]

    def interface_name_rules(self):
        return [rule for _form, rule in self.rule_rows('interface_name_rules')]

    def model_values(self):
        values = super().model_values()
        for name, *_rest in self.RULE_LISTS:
            if self.posted(name):
                values[name] = [rule for _form, rule in self.rule_rows(name)]
        return values

    def full_clean(self):
        # The rows are checked first, so that clean() can put a rule's error on its row.
        for formset in self.formsets.values():
            formset.is_valid()
        super().full_clean()

    def clean(self):
        for name, *_rest in self.RULE_LISTS:
            # Rows whose count cannot be read would read as no rules at all, and saving would erase them.
            if self.posted(name) and self.formsets[name].non_form_errors():
                self.add_error(None, _('The rules could not be read: reload the page and type them again.'))
        return super().clean()

    def add_model_error(self, name, message):
        match = re.match(r'Rule (\d+): (.*)', message)
        pointers = {rule_list: pointer for rule_list, _formset_class, _prefix, pointer in self.RULE_LISTS}
        rows = self.rule_rows(name) if name in pointers else []
        if match and int(match.group(1)) <= len(rows):
            form, _rule = rows[int(match.group(1)) - 1]
            reason = match.group(2)
            # The reason names what it refuses: "the template ...", "the models regex ...", else the regex.
            field = next((key for key in ('template', 'models') if reason.startswith(f'the {key}')), 'regex')
            form.add_error(field, reason)
            self.add_error(None, pointers[name])
            return
        super().add_model_error(name, message)


class CleanupSettingsForm(SettingsTabForm):
    plain = ('deletion_threshold',)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in DELETE_POLICY_KINDS:
            self.fields[f'policy_{kind}'] = forms.ChoiceField(label=kind_label(kind), choices=DeletePolicyChoices)
        self.initial = {**self.initial_values(), **self.initial}
        for kind in DELETE_POLICY_KINDS:
            name = f'policy_{kind}'
            chosen = self.data.get(name) if self.is_bound else self.initial.get(name)
            self.fields[name].help_text = policy_help(kind, chosen)
        self.fieldsets = (
            FieldSet(*(f'policy_{kind}' for kind in DELETE_POLICY_KINDS), name=_('When Meraki no longer has it')),
            FieldSet('deletion_threshold', name=_('Mass-removal guard')),
        )

    def composed(self):
        return {'delete_policy': {kind: f'policy_{kind}' for kind in DELETE_POLICY_KINDS}}

    def initial_values(self):
        initial = super().initial_values()
        for kind in DELETE_POLICY_KINDS:
            initial[f'policy_{kind}'] = initial.get(f'policy_{kind}') or DEFAULT_DELETE_POLICY[kind]
        return initial


class SchedulingSettingsForm(SettingsTabForm):
    plain = ('enable_scheduled_sync', 'sync_interval_minutes', 'scheduled_sync_mode', 'full_read_hours')
    sync_interval_minutes = forms.IntegerField(
        label=_('Interval (minutes)'), min_value=5,
        widget=forms.NumberInput(attrs={'min': 5, 'step': 5}),
        help_text=_('Minutes between scheduled syncs; at least 5.'),
    )
    fieldsets = (
        FieldSet(
            'enable_scheduled_sync', 'sync_interval_minutes', 'scheduled_sync_mode', 'full_read_hours',
            name=_('Schedule'),
        ),
    )
