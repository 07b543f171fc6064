"""One module per page; each only renders (numbers come through ``dashboard.data``).

(Not named ``pages/``: Streamlit treats a ``pages/`` folder beside the entry script as the old
multipage mode and would run a page without the entry script on some reruns, skipping the
sidebar and filters.)

PAGES: (module/file name = URL path, title key in ``dashboard.i18n``, icon); the first is home.
"""

PAGES = [
    ("overview", "page_overview", ":material/dashboard:"),
    ("repair", "page_repair", ":material/build:"),
    ("complaints", "page_complaints", ":material/report:"),
    ("satisfaction", "page_satisfaction", ":material/sentiment_satisfied:"),
    ("sla", "page_sla", ":material/timer:"),
    ("scorecard", "page_scorecard", ":material/leaderboard:"),
    ("staffing", "page_staffing", ":material/groups:"),
    ("parts", "page_parts", ":material/inventory_2:"),
    ("cost", "page_cost", ":material/payments:"),
    ("data", "page_data", ":material/database:"),
    ("alerts", "page_alerts", ":material/notifications_active:"),  # issue 16
]

# issue 17: pages shown only to a principal with this permission; without it the page is not in
# the navigation and its URL shows a refusal (``dashboard.gates``).
# "whole_company": the alerts are judged for the whole company; a restricted scope would see rows outside it
NEEDS = {"staffing": "forecasts", "parts": "forecasts", "alerts": "whole_company"}
