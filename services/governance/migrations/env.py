from services.common.migrations_env import run
from services.governance.models import Base

run(Base.metadata)
