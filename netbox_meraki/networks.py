"""The Meraki networks the plugin knows, by name: what the network pickers of Sync now and the settings offer."""

from dataclasses import dataclass

from dcim.models import Site

from .models import Change, NetworkRead, SyncedObject

__all__ = ('KnownNetwork', 'known_networks')


@dataclass(frozen=True)
class KnownNetwork:
    id: str
    organization_id: str
    name: str = ''

    @property
    def label(self):
        """"London Wi-Fi 03 (L_123)", or the id alone when no name is known."""
        return f'{self.name} ({self.id})' if self.name else self.id


def known_networks(organization_ids=()):
    """
    The networks of the organizations (default: all) that the plugin owns a site for or has read, sorted by label.
    A network's name is its site's; a network read but without a site (dry runs only, say) takes the name its last
    planned site had.
    """
    owned = SyncedObject.objects.filter(kind='site')
    reads = NetworkRead.objects.all()
    if organization_ids:
        owned = owned.filter(organization_id__in=organization_ids)
        reads = reads.filter(organization_id__in=organization_ids)
    sites = list(owned.values_list('meraki_id', 'organization_id', 'object_id'))
    site_names = dict(Site.objects.filter(pk__in=[pk for _id, _org, pk in sites]).values_list('pk', 'name'))
    networks = {network_id: KnownNetwork(network_id, organization_id, site_names.get(pk, ''))
                for network_id, organization_id, pk in sites}
    unnamed = {network_id: organization_id for network_id, organization_id in reads.values_list(
        'network_id', 'organization_id') if network_id not in networks}
    planned = dict(
        Change.objects.filter(kind='site', meraki_id__in=list(unnamed)).order_by('meraki_id', '-pk')
        .distinct('meraki_id').values_list('meraki_id', 'object_repr')
    ) if unnamed else {}
    for network_id, organization_id in unnamed.items():
        networks[network_id] = KnownNetwork(network_id, organization_id, planned.get(network_id, ''))
    return sorted(networks.values(), key=lambda network: (network.label.lower(), network.id))
