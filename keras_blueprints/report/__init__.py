"""The run report: one self-contained ``report.html`` per run directory.

:func:`~keras_blueprints.report.page.write_report` gathers what a run directory
holds (diagram, learning curves, metrics, pictures, settings) into a page with
every asset inline, so it reads offline.
"""

from keras_blueprints.report.page import REPORT_FILE, render_report, write_report

__all__ = ["REPORT_FILE", "render_report", "write_report"]
