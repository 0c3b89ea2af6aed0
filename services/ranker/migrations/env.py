from services.common.migrations_env import run
from services.ranker.db_models import Base

run(Base.metadata)
