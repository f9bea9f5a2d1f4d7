from .changes import *
from .connection import *
from .dashboard import *
from .runs import *
from .settings import *
from .sync import *
