from .changes import *
from .runs import *
