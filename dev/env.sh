# Environment of the development NetBox instance; sourced by dev/netbox and the Makefile's scripts.
NETBOX_MERAKI_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export NETBOX_MERAKI_REPO
export NETBOX_MERAKI_STATE="${NETBOX_MERAKI_STATE:-$NETBOX_MERAKI_REPO/.dev}"
export NETBOX_ROOT="$NETBOX_MERAKI_STATE/netbox"
export NETBOX_CONFIGURATION=configuration
# dev/ holds the instance's configuration module; the checkout holds the simulator, which the wheel leaves out.
export PYTHONPATH="$NETBOX_MERAKI_REPO/dev:$NETBOX_MERAKI_REPO${PYTHONPATH:+:$PYTHONPATH}"
export DJANGO_SETTINGS_MODULE=netbox.settings
export VENV="$NETBOX_MERAKI_REPO/.venv"
