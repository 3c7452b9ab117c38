"""The organization's resource library: links colleagues found useful after their chats.

* `validation`: what a shared link, title, "why" and tags may contain (plain text, http/https).
* `service`: sharing (never duplicated), "useful" once per person, hiding, suggested tags.
* `search`: the library pages' filters and order, one page at a time in SQL.
* `picks`: the library resources that fit a chat topic, for the monthly invite.
* `csv_io`: import (every row checked first) and export.
"""
