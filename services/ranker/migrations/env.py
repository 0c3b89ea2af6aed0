from services.common.migrations_env import run
from services.ranker.store.models import Base

run(Base.metadata)
