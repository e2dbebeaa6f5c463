"""Personal accounts of the portal: people sign in as themselves, each with a role and a department.

The account says *who* acts (named in the audit trail and the access log); the department's database
role still decides *what* may be read (govlake.sharing.authenticator switches to it per request).
"""
