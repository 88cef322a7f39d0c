"""Autograde one submission exactly as the formgrader's Autograde button does: the server extension
loads nbgrader_config.py from Jupyter's config path (python -m grader lab puts grader/ there) and calls
NbGraderAPI.autograde. Usage: formgrader_autograde.py COURSE_ROOT ASSIGNMENT STUDENT"""
import json, sys
from nbgrader.server_extensions.formgrader.formgrader import FormgradeExtension
from nbgrader.apps.api import NbGraderAPI
ext = FormgradeExtension()
ext.root_dir = sys.argv[1]
ext.initialize([])
ext.url_prefix  # loads the config the way the formgrader does
ext.load_config_file()
api = NbGraderAPI(ext.coursedir, ext.authenticator, parent=ext)
print(json.dumps({"db": ext.coursedir.db_url, "result": api.autograde(sys.argv[2], sys.argv[3])}))
