# Run by dev/setup.sh inside `dev/netbox shell`: the admin user of the development instance.
from users.models import User

admin, created = User.objects.get_or_create(username='admin', defaults={'is_superuser': True})
if created:
    admin.set_password('admin')
    admin.save()
    print('created user admin (password: admin)')
