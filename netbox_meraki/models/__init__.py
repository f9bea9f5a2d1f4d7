from .ownership import *
from .runs import *
from .settings import *
