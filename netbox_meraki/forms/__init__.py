from .fields import *
from .filtersets import *
from .settings import *
from .sync import *
