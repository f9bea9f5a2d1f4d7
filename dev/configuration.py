"""NetBox configuration of the development and test instance (see dev/env.sh)."""

import os
from pathlib import Path

STATE_DIR = Path(os.environ['NETBOX_MERAKI_STATE'])

ALLOWED_HOSTS = ['*']
SECRET_KEY = (STATE_DIR / 'secret_key').read_text().strip()
API_TOKEN_PEPPERS = {1: SECRET_KEY}

DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.postgresql',
        'NAME': os.environ.get('NETBOX_DB_NAME', 'netbox_meraki'),
        'USER': os.environ.get('NETBOX_DB_USER', 'netbox_meraki'),
        'PASSWORD': os.environ.get('NETBOX_DB_PASSWORD', 'netbox_meraki'),
        'HOST': os.environ.get('NETBOX_DB_HOST', '127.0.0.1'),
        'PORT': os.environ.get('NETBOX_DB_PORT', '5432'),
        'CONN_MAX_AGE': 300,
        # Tests clone a migrated template instead of replaying NetBox's migrations (make setup builds it).
        'TEST': {
            # Separate names let several test runs share one PostgreSQL.
            'NAME': os.environ.get('NETBOX_TEST_DB_NAME', 'test_netbox_meraki'),
            'TEMPLATE': os.environ.get('NETBOX_DB_TEMPLATE', 'netbox_meraki_tpl'),
        },
    },
}

_redis = {
    'HOST': os.environ.get('REDIS_HOST', '127.0.0.1'),
    'PORT': int(os.environ.get('REDIS_PORT', '6379')),
    'USERNAME': '',
    'PASSWORD': '',
    'SSL': False,
}
# Each pytest-xdist worker (gw0, gw1, ...) has a test database of its own (pytest-django adds the suffix) and, here,
# Redis databases of its own: two more per worker above the ones the environment names.
_worker = int(os.environ.get('PYTEST_XDIST_WORKER', 'gw0').removeprefix('gw'))
REDIS = {
    'tasks': {**_redis, 'DATABASE': int(os.environ.get('REDIS_TASKS_DB', '4')) + 2 * _worker},
    'caching': {**_redis, 'DATABASE': int(os.environ.get('REDIS_CACHING_DB', '5')) + 2 * _worker},
}

DEBUG = os.environ.get('NETBOX_DEBUG', '') == '1'
DEVELOPER = True
RELEASE_CHECK_URL = None
CENSUS_REPORTING_ENABLED = False
TIME_ZONE = 'UTC'
MEDIA_ROOT = str(STATE_DIR / 'media')
STATIC_ROOT = str(STATE_DIR / 'static')

PLUGINS = ['netbox_meraki']
PLUGINS_CONFIG = {
    'netbox_meraki': {
        # The key comes from the environment only: it is never stored in the database or shown.
        'api_key': os.environ.get('MERAKI_DASHBOARD_API_KEY', ''),
        'base_url': os.environ.get('MERAKI_BASE_URL', 'https://api.meraki.com/api/v1'),
        # Likewise the shared secret Meraki sends with each webhook; unset leaves webhooks off.
        'webhook_secret': os.environ.get('MERAKI_WEBHOOK_SECRET', ''),
    },
}

LOGGING = {
    'version': 1,
    'disable_existing_loggers': False,
    'handlers': {'console': {'class': 'logging.StreamHandler'}},
    'loggers': {
        'netbox_meraki': {'handlers': ['console'], 'level': os.environ.get('NETBOX_MERAKI_LOG_LEVEL', 'INFO')},
    },
}
