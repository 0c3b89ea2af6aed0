from services.common.migrations_env import run
from services.embedder.db_models import Base

run(Base.metadata)
