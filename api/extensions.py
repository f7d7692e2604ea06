"""Flask extensions, instantiated once here and bound to the app in `create_app`."""

from flasgger import Swagger
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from api.replica import RoutingSession
from utilities.schema import Base

# The models subclass `Base` (utilities/schema.py, no Flask); `db.session` and `db.metadata` serve them.
# The session class sends a read endpoint's queries to the read replica while one computes on it.
db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate(render_as_batch=True, compare_type=True)
swagger = Swagger()
