# Environment of the development NetBox instance; sourced by dev/netbox and the Makefile's scripts.
NETBOX_MERAKI_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export NETBOX_MERAKI_REPO
export NETBOX_MERAKI_STATE="${NETBOX_MERAKI_STATE:-$NETBOX_MERAKI_REPO/.dev}"
export NETBOX_ROOT="$NETBOX_MERAKI_STATE/netbox"
export NETBOX_CONFIGURATION=configuration
export PYTHONPATH="$NETBOX_MERAKI_REPO/dev${PYTHONPATH:+:$PYTHONPATH}"
export DJANGO_SETTINGS_MODULE=netbox.settings
export VENV="$NETBOX_MERAKI_REPO/.venv"
