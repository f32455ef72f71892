"""Each chapter's experiments: profile settings in, the thesis's tables and claims out.

One module per chapter (``ch2_*``, ``ch4_*``, ...), plus :mod:`.setup` (the call that opens every
chapter) and :mod:`.attack_runs` (cached, resumable attack runs). A chapter imports the module it
needs; this package imports none of them, so a page depends only on what it uses.
"""
