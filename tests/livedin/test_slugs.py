"""Site slugs in a lived-in NetBox: a network's name, with its id only where another site already holds that slug."""

import pytest
from django.utils.text import slugify

from dcim.models import Site

from netbox_meraki.choices import RunStatusChoices

from ..reliability.conftest import sync
from .conftest import CLASH, owned_pk

SHARED_BASELINE = True
pytestmark = pytest.mark.django_db


def site_of(network_id):
    return Site.objects.get(pk=owned_pk('site', network_id))


def test_sites_of_a_first_sync_have_their_names_slug(baseline, simulator, meraki_config):
    site_a, site_b = site_of(baseline.networks['clash_a']), site_of(baseline.networks['clash_b'])

    # Both organizations name a network CLASH: the second's site is told apart by its organization, and so its slug.
    assert site_a.slug == slugify(CLASH)
    assert site_b.slug == slugify(site_b.name) != site_a.slug


def test_a_new_network_whose_slug_a_persons_site_holds_takes_its_id(baseline, simulator, meraki_config):
    persons = Site.objects.get(pk=baseline.hand['site'])
    assert persons.slug == 'hq-datacenter'
    network_id = simulator.add_network(baseline.org_a, 'HQ-Datacenter', ['wireless'])

    run = sync(baseline.org_a)

    assert run.status == RunStatusChoices.COMPLETED, (run.status, run.error)
    assert site_of(network_id).slug == f'hq-datacenter-{network_id.lower()}'
    persons.refresh_from_db()
    assert (persons.name, persons.slug) == ('HQ Datacenter', 'hq-datacenter')


def test_an_owned_site_keeps_the_slug_it_has_through_resyncs_and_renames(baseline, simulator, meraki_config):
    # A site made by an earlier release, whose slug carried the network id: it is left as it is, never updated.
    network_id = baseline.networks['clash_a']
    site = site_of(network_id)
    old_slug = slugify(f'{site.name}-{network_id}')
    Site.objects.filter(pk=site.pk).update(slug=old_slug)

    run = sync(baseline.org_a)
    assert run.status == RunStatusChoices.COMPLETED, (run.status, run.error)
    assert not run.changes.filter(kind='site').exists(), list(run.changes.filter(kind='site').values('after'))
    assert site_of(network_id).slug == old_slug

    simulator.rename_network(network_id, 'Sydney Harbour')
    run = sync(baseline.org_a)
    site = site_of(network_id)
    assert (site.name, site.slug) == ('Sydney Harbour', old_slug)
