import ipaddress

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .. import scheduling
from ..forms import (
    CleanupSettingsForm,
    MappingSettingsForm,
    OrganizationSettingsForm,
    RulesSettingsForm,
    SchedulingSettingsForm,
)
from ..models import PluginSettings
from ..rules import (
    interface_name_rule,
    prefix_allowed,
    site_name_rule,
    validate_interface_name_rules,
    validate_prefix_filters,
    validate_site_name_rules,
)
from .connection import connection_context
from .mixins import PermissionRequiredView

__all__ = (
    'CleanupSettingsView', 'ConnectionSettingsView', 'InterfaceNamePreviewView', 'MappingSettingsView',
    'OrganizationSettingsView', 'PrefixPreviewView', 'RulesSettingsView', 'ScheduleStatusView',
    'SchedulingSettingsView', 'SiteNamePreviewView',
)

VIEW_SETTINGS = 'netbox_meraki.view_pluginsettings'
CHANGE_SETTINGS = 'netbox_meraki.change_pluginsettings'

# URL name and label of each tab of the configuration page.
TABS = (
    ('settings', _('Connection')),
    ('settings_organizations', _('Organizations and networks')),
    ('settings_mapping', _('Mapping')),
    ('settings_rules', _('Rules')),
    ('settings_cleanup', _('Cleanup')),
    ('settings_scheduling', _('Scheduling')),
)


class SettingsPageView(PermissionRequiredView):
    """A tab of the configuration page. Seeing it needs the view permission, saving it the change permission."""

    tab = None
    template_name = None

    def get_required_permission(self):
        return CHANGE_SETTINGS if self.request.method == 'POST' else VIEW_SETTINGS

    def get_extra_context(self, request, settings):
        return {}

    def render(self, request, settings, **context):
        return render(request, self.template_name, {
            'title': _('Meraki configuration'),
            'tabs': [(reverse(f'plugins:netbox_meraki:{name}'), label, name == self.tab) for name, label in TABS],
            'object': settings,
            'can_change': request.user.has_perm(CHANGE_SETTINGS),
            **self.get_extra_context(request, settings),
            **context,
        })


class ConnectionSettingsView(SettingsPageView):
    tab = 'settings'
    template_name = 'netbox_meraki/settings/connection.html'

    def get(self, request):
        return self.render(request, PluginSettings.load(), **connection_context())


class SettingsFormView(SettingsPageView):
    """A tab with a form; it saves through PluginSettings.full_clean(), in NetBox's changelog."""

    form_class = None
    template_name = 'netbox_meraki/settings/form.html'

    def get(self, request):
        settings = PluginSettings.load()
        return self.render_form(request, settings, self.form_class(instance=settings))

    def post(self, request):
        settings = PluginSettings.load()
        settings.snapshot()
        form = self.form_class(request.POST, instance=settings)
        if form.is_valid():
            form.save()
            messages.success(request, _('Meraki settings saved.'))
            return redirect(request.path)
        messages.error(request, _('The settings were not saved: see the reasons next to the fields.'))
        return self.render_form(request, settings, form)

    def render_form(self, request, settings, form):
        if not request.user.has_perm(CHANGE_SETTINGS):
            for field in form.fields.values():
                field.disabled = True
        return self.render(request, settings, form=form)


class OrganizationSettingsView(SettingsFormView):
    tab = 'settings_organizations'
    form_class = OrganizationSettingsForm


class MappingSettingsView(SettingsFormView):
    tab = 'settings_mapping'
    form_class = MappingSettingsForm


class RulesSettingsView(SettingsFormView):
    tab = 'settings_rules'
    form_class = RulesSettingsForm
    template_name = 'netbox_meraki/settings/rules.html'

    def render_form(self, request, settings, form):
        if not request.user.has_perm(CHANGE_SETTINGS):
            for formset in form.formsets.values():
                for row in formset.forms:
                    for field in row.fields.values():
                        field.disabled = True
        return super().render_form(request, settings, form)


class CleanupSettingsView(SettingsFormView):
    tab = 'settings_cleanup'
    form_class = CleanupSettingsForm
    template_name = 'netbox_meraki/settings/cleanup.html'


class SchedulingSettingsView(SettingsFormView):
    tab = 'settings_scheduling'
    form_class = SchedulingSettingsForm
    template_name = 'netbox_meraki/settings/scheduling.html'

    def get_extra_context(self, request, settings):
        schedulers = scheduling.scheduler_commands()
        return {
            'schedule': scheduling.schedule_status(),
            'installs': [
                {
                    'key': install,
                    'label': label,
                    'schedulers': [
                        {**scheduler, 'commands': scheduler['commands'][install]} for scheduler in schedulers
                    ],
                }
                for install, label in (
                    ('netbox', _('NetBox from PyPI (netbox command)')),
                    ('manage_py', _('NetBox from git (manage.py)')),
                )
            ],
        }


class ScheduleStatusView(PermissionRequiredView):
    """The schedule's state and its last and next syncs, polled by the Scheduling tab."""

    permission_required = VIEW_SETTINGS

    def get(self, request):
        return render(request, 'netbox_meraki/settings/schedule_status.html', {
            'schedule': scheduling.schedule_status(),
        })


class PreviewView(PermissionRequiredView):
    """A live "test this rule" answer for the Rules tab: reads the rules as typed (not saved), answers a fragment."""

    permission_required = VIEW_SETTINGS
    http_method_names = ['post']
    template_name = 'netbox_meraki/settings/preview.html'

    def post(self, request):
        form = RulesSettingsForm(request.POST, instance=PluginSettings.load())
        for formset in form.formsets.values():
            formset.is_valid()
        outcome = self.preview(form, request.POST)
        return render(request, self.template_name, outcome)


class NameRulePreviewView(PreviewView):
    """
    The name naming rules give a sample typed on the Rules tab: `rules` reads the rules from the form, `sample` the
    sample (its first part empty when nothing was typed), `name` applies them: (rule number or None, name).
    """

    hint = no_match = ''

    def preview(self, form, data):
        rules = self.rules(form)
        try:
            self.validate(rules)
        except ValidationError as exc:
            return {'error': ' '.join(exc.messages)}
        sample = self.sample(data)
        if not sample[0]:
            return {'hint': self.hint}
        number, name = self.name(*sample, rules)
        return {
            'ok': True,
            'result': name,
            'detail': _('Rule {number} matches.').format(number=number) if number else self.no_match,
        }


class SiteNamePreviewView(NameRulePreviewView):
    hint = _('Type a network name to see the site name the rules give it.')
    no_match = _('No rule matches: the site keeps the network name.')
    validate = staticmethod(validate_site_name_rules)

    def rules(self, form):
        return form.site_name_rules()

    def name(self, network, organization, rules):
        return site_name_rule(network, rules, organization)

    def sample(self, data):
        return data.get('test_network_name', '').strip(), data.get('test_organization_name', '').strip()


class InterfaceNamePreviewView(NameRulePreviewView):
    hint = _('Type a Meraki port name, such as 1, and a device model to see the interface name.')
    no_match = _('No rule matches: the interface keeps Meraki\'s port name.')
    validate = staticmethod(validate_interface_name_rules)

    def rules(self, form):
        return form.interface_name_rules()

    def name(self, port, model, rules):
        return interface_name_rule(port, model, rules)

    def sample(self, data):
        return data.get('test_port_name', '').strip(), data.get('test_device_model', '').strip()


class PrefixPreviewView(PreviewView):

    def preview(self, form, data):
        cidr = data.get('test_prefix', '').strip()
        form.is_valid()
        errors = [str(error) for name in ('prefix_include', 'prefix_exclude', 'prefix_min_length', 'prefix_max_length')
                  for error in form.errors.get(name, [])]
        if errors:
            return {'error': ' '.join(errors)}
        filters = {
            'include': form.cleaned_data['prefix_include'], 'exclude': form.cleaned_data['prefix_exclude'],
            'min_length': form.cleaned_data['prefix_min_length'], 'max_length': form.cleaned_data['prefix_max_length'],
        }
        try:
            validate_prefix_filters(filters)
        except ValidationError as exc:
            return {'error': ' '.join(exc.messages)}
        if not cidr:
            return {'hint': _('Type a subnet, such as 10.1.20.0/24, to see whether it is synced.')}
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return {'error': _('{value} is not a CIDR (for example 10.1.20.0/24).').format(value=cidr)}
        if prefix_allowed(cidr, filters):
            return {'ok': True, 'result': _('{prefix} is synced.').format(prefix=network)}
        return {'ok': False, 'result': _('{prefix} is not synced.').format(prefix=network),
                'detail': refusal_reason(network, filters)}


def refusal_reason(network, filters):
    """Which filter keeps a subnet out, in words."""
    def inside(values):
        return next((value for value in values if _contains(value, network)), None)

    if filters['include'] and not inside(filters['include']):
        return _('It is inside none of the included subnets.')
    if container := inside(filters['exclude']):
        return _('It is inside the excluded {subnet}.').format(subnet=container)
    if filters['min_length'] is not None and network.prefixlen < filters['min_length']:
        return _('/{length} is shorter than the shortest length allowed, /{minimum}.').format(
            length=network.prefixlen, minimum=filters['min_length'])
    return _('/{length} is longer than the longest length allowed, /{maximum}.').format(
        length=network.prefixlen, maximum=filters['max_length'])


def _contains(container, network):
    container = ipaddress.ip_network(container, strict=False)
    return container.version == network.version and network.subnet_of(container)
