# Gives a Samba AD DC secrets of its own (init.sh runs it once, on the DC's
# new database, before samba starts): every DC of a domain, of every
# candidate, starts from the same template, so without this they would share
# the krbtgt keys (a ticket forged with one DC's would be good on all) and the
# DC's machine account password. Both are set to random values, three times:
# an account's keys keep its two previous passwords' (OldKeys, OlderKeys), and
# the KDC still takes a ticket made with them. krbtgt in sam.ldb; the machine
# account in sam.ldb and in secrets.ldb with its new key version (secrets.tdb
# and secrets.keytab follow through secrets.ldb's own modules). It also sets the Administrator's password to $ADMINPASS (the
# candidate's, from samba-dc.env), in the same run: a Python start is most of
# what this costs. Usage: ADMINPASS=... python3 samba-dc-secrets.py SMB.CONF
import os
import secrets
import sys

import ldb
from samba import Ldb, param
from samba.auth import system_session
from samba.samdb import SamDB


def password():
    return "Tl-" + secrets.token_urlsafe(60)


lp = param.LoadParm()
lp.load(sys.argv[1])
session = system_session()
sam = SamDB(url=lp.samdb_url(), session_info=session, lp=lp)
account = lp.get("netbios name").upper() + "$"
by_name = "(sAMAccountName=%s)" % ldb.binary_encode(account)
sam.transaction_start()  # one commit (its fsyncs) rather than seven
try:
    sam.setpassword("(sAMAccountName=Administrator)", os.environ["ADMINPASS"], False, username="Administrator")
    for _ in range(3):
        sam.setpassword("(sAMAccountName=krbtgt)", password(), False, username="krbtgt")
        machine = password()
        sam.setpassword(by_name, machine, False, username=account)
except BaseException:
    sam.transaction_cancel()
    raise
sam.transaction_commit()
kvno = sam.search(expression=by_name, attrs=["msDS-KeyVersionNumber"])[0]["msDS-KeyVersionNumber"][0]
db = Ldb(lp.private_path("secrets.ldb"), session_info=session, lp=lp)
entry = db.search(base="CN=Primary Domains", scope=ldb.SCOPE_ONELEVEL,
                  expression="(objectClass=primaryDomain)", attrs=["secret"])[0]
m = ldb.Message(entry.dn)
m["priorSecret"] = ldb.MessageElement(entry["secret"][0], ldb.FLAG_MOD_REPLACE, "priorSecret")
m["secret"] = ldb.MessageElement(machine, ldb.FLAG_MOD_REPLACE, "secret")
m["msDS-KeyVersionNumber"] = ldb.MessageElement(str(kvno), ldb.FLAG_MOD_REPLACE, "msDS-KeyVersionNumber")
db.modify(m)
