import os

# The test run talks to the real NetBox instance of dev/ (make setup); dev/env.sh exports these for `make test`.
os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'netbox.settings')
