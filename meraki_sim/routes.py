"""The Dashboard API endpoints the simulator serves, and how a path finds its endpoint."""

from dataclasses import dataclass
from typing import Any

from . import netviews, portviews, views
from .pagination import Paging

__all__ = ('ROUTES', 'Route', 'match_route')


@dataclass(frozen=True)
class Route:
    """An endpoint: its path template, the function answering it and, for lists, its paging."""

    template: str
    answer: Any
    paging: Paging | None = None

    @property
    def parts(self):
        """The template's path segments."""
        return tuple(self.template.strip('/').split('/'))

    def match(self, parts):
        """Path parameters if the path segments fit the template, else None."""
        mine = self.parts
        if len(mine) != len(parts):
            return None
        args = {}
        for want, have in zip(mine, parts, strict=True):
            if want.startswith('{'):
                args[want[1:-1]] = have
            elif want != have:
                return None
        return args


def _organizations(request):
    return views.organizations(request.dashboard, request.visible)


def _org_list(view):
    return lambda request: view(request.org, request.filters)


def _network(view):
    return lambda request: view(request.org, request.args['networkId'])


def _device(view):
    return lambda request: view(request.org, request.args['serial'])


ORG = '/organizations/{organizationId}'

ROUTES = (
    Route('/organizations', _organizations, Paging(3, 9000, 9000)),
    Route(ORG, lambda request: request.org.organization),
    Route(f'{ORG}/networks', _org_list(views.networks), Paging(3, 100000, 1000)),
    Route(f'{ORG}/configTemplates', lambda request: views.config_templates(request.org)),
    Route(f'{ORG}/devices', _org_list(views.devices), Paging(3, 5000, 1000)),
    Route(f'{ORG}/devices/availabilities', _org_list(views.availabilities), Paging(3, 1000, 1000)),
    Route(f'{ORG}/devices/statuses', _org_list(views.device_statuses), Paging(3, 1000, 1000)),
    Route(f'{ORG}/inventory/devices', _org_list(views.inventory), Paging(3, 1000, 1000)),
    Route(f'{ORG}/devices/uplinks/addresses/byDevice', _org_list(views.uplink_addresses), Paging(3, 1000, 1000)),
    Route(f'{ORG}/appliance/uplink/statuses', _org_list(views.appliance_uplink_statuses), Paging(3, 1000, 1000)),
    Route(f'{ORG}/switch/ports/bySwitch', _org_list(portviews.switch_ports_by_switch), Paging(3, 50, 50)),
    Route(
        f'{ORG}/switch/ports/statuses/bySwitch',
        _org_list(portviews.switch_port_statuses),
        Paging(3, 20, 10, envelope=True),
    ),
    Route(
        f'{ORG}/switch/ports/topology/discovery/byDevice',
        _org_list(portviews.topology_discovery),
        Paging(3, 20, 10, envelope=True),
    ),
    Route(
        f'{ORG}/wireless/ssids/statuses/byDevice',
        _org_list(portviews.ssid_statuses_by_device),
        Paging(3, 500, 100, envelope=True),
    ),
    Route(f'{ORG}/firmware/upgrades/byDevice', _org_list(views.firmware_upgrades_by_device), Paging(3, 1000, 50)),
    Route(
        f'{ORG}/configurationChanges',
        _org_list(views.configuration_changes),
        Paging(3, 100000, 5000, newest_first=True),
    ),
    Route(f'{ORG}/licenses', _org_list(views.licenses), Paging(3, 1000, 1000)),
    Route('/networks/{networkId}', _network(netviews.network)),
    Route('/networks/{networkId}/devices', _network(netviews.network_devices)),
    Route('/networks/{networkId}/appliance/vlans', _network(netviews.network_appliance_vlans)),
    Route('/networks/{networkId}/appliance/vlans/settings', _network(netviews.network_appliance_vlans_settings)),
    Route('/networks/{networkId}/appliance/singleLan', _network(netviews.network_appliance_single_lan)),
    Route('/networks/{networkId}/wireless/ssids', _network(netviews.network_wireless_ssids)),
    Route('/networks/{networkId}/switch/stacks', _network(netviews.network_switch_stacks)),
    Route('/networks/{networkId}/topology/linkLayer', _network(netviews.network_link_layer)),
    Route('/networks/{networkId}/firmwareUpgrades', _network(netviews.network_firmware_upgrades)),
    Route('/devices/{serial}', _device(netviews.device)),
    Route('/devices/{serial}/switch/ports', _device(netviews.device_switch_ports)),
    Route('/devices/{serial}/lldpCdp', _device(netviews.device_lldp_cdp)),
    Route('/devices/{serial}/managementInterface', _device(netviews.device_management_interface)),
)

_PLACEHOLDER = {'organizations': '{organizationId}', 'networks': '{networkId}', 'devices': '{serial}'}


def match_route(path):
    """(route, path parameters) for a path below the API base, or (None, template) for a path we do not serve.

    The template of an unknown path still names its ids generically, so calls to it are counted per endpoint.
    """
    parts = tuple(path.strip('/').split('/'))
    for route in ROUTES:
        args = route.match(parts)
        if args is not None:
            return route, args
    generic = list(parts)
    if len(generic) >= 2 and generic[0] in _PLACEHOLDER:
        generic[1] = _PLACEHOLDER[generic[0]]
    return None, '/' + '/'.join(generic)
