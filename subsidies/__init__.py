"""The canteen's subsidy rules: pure functions over plain, frozen data.

Nothing in this package touches a database, a web framework or a PDF library, so an
accountant or auditor can read the policy here and a test can check every boundary.
"""
