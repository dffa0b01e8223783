#!/usr/bin/env python3
"""Independent simulator of Microsoft Entra ID / Microsoft 365 ADMINISTRATIVE audit activity.

Writes /tmp/indep/admin.ndjson (one JSON record per line, three delivery shapes mixed)
and /tmp/indep/truth.json. Deterministic (seeded). Stdlib only.

Shapes:
  a  Azure Monitor diagnostic-settings export of AuditLogs (storage / event hub JSON)
  b  Log Analytics AuditLogs table rows (PascalCase columns, dynamic cols as JSON strings)
  c  Office 365 Management Activity API (unified audit log): RecordType 8 (AzureActiveDirectory)
     and RecordType 1 (ExchangeAdmin; Exchange admin records exist ONLY in this shape)
"""
import json, random, uuid, hashlib, os, sys
from datetime import datetime, timedelta, timezone

SEED = int(os.environ.get("ADMIN_SIM_SEED", "20250303"))
OUTDIR = os.environ.get("ADMIN_SIM_OUT", os.path.dirname(os.path.abspath(__file__)))
R = random.Random(SEED)
UTC = timezone.utc
START = datetime(2025, 3, 3, tzinfo=UTC)        # a Monday
DAYS = 30

def gid():
    return str(uuid.UUID(int=R.getrandbits(128), version=4))

def iso(t, frac=7):
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    us = t.strftime("%f")
    return s + "." + (us + "0")[:frac] + "Z"

def iso3(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + t.strftime("%f")[:3] + "Z"

def js(v):
    """JSON text inside a string, as Entra modifiedProperties carry it."""
    return json.dumps(v, separators=(",", ":"))

# ----------------------------------------------------------------------------------------
# Tenant
# ----------------------------------------------------------------------------------------
TENANT_ID = gid()
DOMAIN = "harbourline.com"
DOMAIN2 = "harbourline.co.uk"
INITIAL = "harbourline.onmicrosoft.com"
ORG_NAME = "harbourline.onmicrosoft.com"
LA_WORKSPACE = gid()
RESOURCE_ID = "/tenants/%s/providers/Microsoft.aadiam" % TENANT_ID

FIRST = ("James Oliver Amelia Olivia Isla Harry Jack George Noah Leo Emily Grace Sophie Lucy Ava Mia "
         "Thomas William Charlie Jacob Oscar Ella Freya Chloe Daniel Samuel Joseph Ruby Evie Poppy Arthur "
         "Priya Aisha Mohammed Omar Fatima Zainab Wei Li Chen Hana Yuki Kenji Raj Anil Sunita Pavel Anna "
         "Marta Jakub Tomasz Kasia Lukas Sofia Mateo Lucia Diego Ines Chidi Ngozi Kwame Abena Sean Niamh "
         "Ciaran Aoife Rhys Cerys Dylan Megan Ewan Isla Callum Eilidh Hamish Fiona").split()
LAST = ("Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans Walker White "
        "Roberts Green Hall Wood Jackson Clarke Patel Khan Ahmed Ali Singh Shah Begum Hussain Chen Wang Li "
        "Nowak Kowalski Wisniewski Murphy Kelly Byrne Ryan Walsh OBrien Campbell Stewart MacDonald Scott "
        "Reid Murray Hughes Edwards Lewis Morgan Griffiths Price Okafor Mensah Boateng Adeyemi Garcia "
        "Fernandez Lopez Martin Novak Horvat Kovacs Santos Silva Costa Rossi Bianchi Muller Schmidt "
        "Fischer Weber Dubois Moreau Laurent Jensen Hansen Larsen Nielsen").split()
DEPTS = ["Finance", "Operations", "Logistics", "Sales", "Marketing", "HR", "Legal", "IT", "Engineering",
         "Customer Service", "Procurement", "Fleet", "Port Operations", "Warehouse", "Compliance"]
TITLES = ["Analyst", "Senior Analyst", "Coordinator", "Manager", "Senior Manager", "Specialist", "Associate",
          "Team Lead", "Director", "Administrator", "Engineer", "Advisor", "Officer", "Operative", "Supervisor"]
OFFICES = ["Southampton HQ", "Felixstowe", "Liverpool", "Glasgow", "London - Canary Wharf", "Rotterdam",
           "Birmingham DC", "Remote"]

USERS = []          # dicts: id, upn, name, dept, cloud(bool), mfa (None/Enabled/Enforced), methods
_seen = set()
for i in range(5000):
    fn, ln = R.choice(FIRST), R.choice(LAST)
    base = ("%s.%s" % (fn, ln)).lower()
    upn = base
    k = 2
    while upn in _seen:
        upn = "%s%d" % (base, k); k += 1
    _seen.add(upn)
    dept = R.choice(DEPTS)
    cloud = dept in ("Warehouse", "Port Operations", "Fleet") and R.random() < 0.85   # frontline, HR-provisioned
    r = R.random()
    mfa = "Enforced" if r < 0.17 else ("Enabled" if r < 0.21 else None)
    USERS.append({"id": gid(), "upn": "%s@%s" % (upn, DOMAIN), "name": "%s %s" % (fn, ln), "dept": dept,
                  "cloud": cloud, "mfa": mfa, "mfa_ts": None,
                  "methods": R.choice([[6, 7], [6], [7, 1], [6, 7, 1], [1], [6, 2]])})

def person(upn_local, name, roles, ips, home_ips=()):
    return {"kind": "user", "id": gid(), "upn": "%s@%s" % (upn_local, DOMAIN), "name": name,
            "roles": roles, "ips": list(ips), "home": list(home_ips)}

CORP_IPS = ["198.51.100.17", "198.51.100.18", "203.0.113.66"]
HOME = ["86.151.%d.%d", "81.108.%d.%d", "82.132.%d.%d", "2a00:23c6:%x:%x::1f", "92.40.%d.%d"]
def home_ip():
    p = R.choice(HOME)
    return p % (R.randint(1, 250), R.randint(1, 250)) if "%d" in p else p % (R.randint(0x1000, 0xffff), R.randint(0x1000, 0xffff))

ADMINS = [
    person("adm.dkhan", "ADM Daniel Khan", ["Global Administrator"], CORP_IPS, [home_ip()]),
    person("adm.srobinson", "ADM Sophie Robinson", ["Exchange Administrator"], CORP_IPS, [home_ip()]),
    person("adm.tnowak", "ADM Tomasz Nowak", ["Exchange Administrator", "Teams Administrator"], CORP_IPS, [home_ip()]),
    person("adm.cmurphy", "ADM Ciaran Murphy", ["User Administrator", "License Administrator"], CORP_IPS, [home_ip()]),
    person("adm.amensah", "ADM Abena Mensah", ["Application Administrator"], CORP_IPS, [home_ip()]),
    person("adm.jgarcia", "ADM Jacob Garcia", ["Intune Administrator"], CORP_IPS, [home_ip()]),
    person("adm.lwalsh", "ADM Lucy Walsh", ["SharePoint Administrator"], CORP_IPS, [home_ip()]),
    person("adm.rpatel", "ADM Raj Patel", ["Global Administrator"], CORP_IPS, [home_ip()]),
]
IDENTITY = [
    person("adm.hwong", "ADM Hana Wong", ["Hybrid Identity Administrator", "Conditional Access Administrator"], CORP_IPS, [home_ip()]),
    person("adm.mokafor", "ADM Mohammed Okafor", ["Security Administrator", "Conditional Access Administrator"], CORP_IPS, [home_ip()]),
    person("adm.ecampbell", "ADM Ewan Campbell", ["Hybrid Identity Administrator", "Domain Name Administrator"], CORP_IPS, [home_ip()]),
]
HELPDESK = [
    person("hd.%s" % n.split()[0].lower() + n.split()[1][0].lower(), n, ["Helpdesk Administrator", "Authentication Administrator"], CORP_IPS)
    for n in ["Chloe Byrne", "Kwame Boateng", "Marta Kowalski", "Oscar Reid", "Aisha Shah", "Dylan Price"]
]
DEVS = [{"kind": "user", "id": gid(), "upn": u["upn"], "name": u["name"], "roles": [], "ips": CORP_IPS, "home": [home_ip()]}
        for u in R.sample([u for u in USERS if u["dept"] in ("IT", "Engineering")], 10)]
BREAKGLASS = [{"id": gid(), "upn": "bg-emergency01@%s" % INITIAL, "name": "Break Glass 01"},
              {"id": gid(), "upn": "bg-emergency02@%s" % INITIAL, "name": "Break Glass 02"}]
SVC = {n: {"id": gid(), "upn": "%s@%s" % (n, DOMAIN), "name": n} for n in
       ["svc-legacy-test", "svc-scan2mail", "svc-kiosk-sync", "svc-backup-veeam", "svc-sqlreports", "svc-ticketing"]}
for s in ("svc-scan2mail", "svc-sqlreports", "svc-legacy-test"):
    SVC[s]["mfa"] = "Enforced"

def app(name, appid=None, spid=None):
    return {"kind": "app", "appId": appid or gid(), "name": name, "spid": spid or gid()}

HR_SP = app("SuccessFactors to Microsoft Entra ID User Provisioning")
SYNC = {"kind": "user", "id": gid(), "upn": "Sync_HLADC01_3f9a1c27be44@%s" % INITIAL,
        "name": "On-Premises Directory Synchronization Service Account", "roles": ["Directory Synchronization Accounts"],
        "ips": ["198.51.100.40"], "home": []}
SUBSTRATE = app("Microsoft Substrate Management", "98db8bd6-0cc0-4e67-9de5-f187f1cd1b41")
EXO_APP = app("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000")
MS_PIM = app("MS-PIM", "01fc33a7-78ba-4d2f-a4b7-768e336e890e")
PCDA = app("Partner Customer Delegated Administration", "2832473f-ec63-45fb-976f-5d45a7d4bb91")
CA_PIPE = app("hl-ca-as-code-pipeline")
KV_ROT = app("hl-keyvault-secret-rotation")
EXO_SYSTEM = {"kind": "system", "upn": "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)", "name": "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)"}

ATTACKER = {"kind": "user", "id": SVC["svc-legacy-test"]["id"], "upn": SVC["svc-legacy-test"]["upn"],
            "name": "svc-legacy-test", "roles": [], "ips": [], "home": []}
PROXY_IPS = ["73.189.44.201", "98.33.12.87", "172.58.140.22", "24.5.201.117", "71.212.66.9", "108.51.99.140"]

UA_BROWSER = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0",
              "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36",
              "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15"]
UA_PS = ["Swagger-Codegen/1.4.0.0/csharp", "Microsoft Azure Graph Client Library 1.0", "Microsoft Graph PowerShell 2.15.0"]

OTHER_ORGS = {
    "contoso_research": {"tid": gid(), "name": "Contoso Research Ltd"},
    "fabrikam": {"tid": gid(), "name": "Fabrikam Logistics BV"},
    "sister": {"tid": gid(), "name": "Harbourline Marine Services (acquired)"},
    "msp": {"tid": gid(), "name": "Northgate Managed IT Ltd"},
    "old_reseller": {"tid": gid(), "name": "Bluewave Licensing Partners"},
    "attacker": {"tid": gid(), "name": "hlcloud-support"},
}

# ----------------------------------------------------------------------------------------
# Event model (canonical), rendered later into shapes
# ----------------------------------------------------------------------------------------
EVENTS = []

def rid(prefix, corr):
    return "%s_%s_%s_%09d" % (prefix, corr, "".join(R.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(5)),
                               R.randint(10000000, 999999999))

def ev_entra(t, activity, category, service, optype, actor, targets, result="success", reason="",
             details=None, tag=None, attack=None, corr=None, shape=None, ip=None, ua=None):
    corr = corr or gid()
    prefix = {"Core Directory": "Directory", "Conditional Access": "IPCGraph", "PIM": "PIM"}.get(service, "Directory")
    if actor["kind"] == "user" and ip is None:
        ip = R.choice(actor["ips"] + actor["home"] * (1 if R.random() < 0.15 else 0)) if actor["ips"] else None
    det = list(details or [])
    if actor["kind"] == "user" and ua is not False and not any(d["key"] == "User-Agent" for d in det):
        det.append({"key": "User-Agent", "value": ua or R.choice(UA_BROWSER)})
    e = {"src": "entra", "t": t, "activity": activity, "category": category, "service": service,
         "optype": optype, "actor": actor, "targets": targets, "result": result, "reason": reason,
         "details": det, "tag": tag, "attack": attack, "corr": corr, "shape": shape, "ip": ip,
         "id": rid(prefix, corr)}
    EVENTS.append(e)
    return e

def ev_exo(t, cmdlet, actor, objid, params, tag=None, attack=None, ip=None, ok=True):
    e = {"src": "exo", "t": t, "activity": cmdlet, "actor": actor, "objid": objid, "params": params,
         "tag": tag, "attack": attack, "shape": "c", "ip": ip, "ok": ok, "id": gid(), "corr": None}
    EVENTS.append(e)
    return e

def mp(name, old, new):
    return {"displayName": name, "oldValue": old, "newValue": new}

def incl(*names):
    return mp("Included Updated Properties", None, js(", ".join(names)) if len(names) > 1 else js(names[0]))

def user_target(u, props):
    return {"id": u["id"], "displayName": u.get("name"), "type": "User", "userPrincipalName": u["upn"],
            "modifiedProperties": props}

def T(day, h, m=None, s=None):
    return START + timedelta(days=day, hours=h, minutes=R.randint(0, 59) if m is None else m,
                             seconds=R.randint(0, 59) if s is None else s, microseconds=R.randint(0, 999999))

def biz_time(day, lo=8, hi=18):
    h = R.choice(range(lo, hi)) if R.random() < 0.9 else R.choice([7, 18, 19, 20, 21])
    return T(day, h)

def weekend(day):
    return (START + timedelta(days=day)).weekday() >= 5

def sar(state, ts):
    return js([{"RelyingParty": "*", "State": state, "RememberDevicesNotIssuedBefore": iso3(ts)}])

def sam(methods):
    return js([{"MethodType": m, "Default": i == 0} for i, m in enumerate(methods)])

# ----------------------------------------------------------------------------------------
# 1. Update user: HR provisioning, Entra Connect sync, Substrate, helpdesk, licences
# ----------------------------------------------------------------------------------------
ATTRS = {"Department": lambda u: R.choice(DEPTS), "JobTitle": lambda u: R.choice(TITLES),
         "PhysicalDeliveryOfficeName": lambda u: R.choice(OFFICES), "TelephoneNumber": lambda u: "+44 23 %04d %04d" % (R.randint(0, 9999), R.randint(0, 9999)),
         "Mobile": lambda u: "+44 7%03d %06d" % (R.randint(0, 999), R.randint(0, 999999)),
         "EmployeeId": lambda u: "HL%06d" % R.randint(0, 999999), "CompanyName": lambda u: "Harbourline Group",
         "City": lambda u: R.choice(["Southampton", "Ipswich", "Liverpool", "Glasgow", "London", "Rotterdam"]),
         "UsageLocation": lambda u: R.choice(["GB", "NL"]), "ExtensionAttribute3": lambda u: R.choice(["FTE", "CTR", "TMP"])}
SKUS = {"SPE_E3": "05e9a617-0261-4cee-bb44-138d3ef5d965", "SPE_F1": "66b55226-6b4f-492c-910c-a3b7a3c9d993",
        "EMS": "efccb6f7-5641-4e0e-bd10-b4976e1bf68e", "POWER_BI_PRO": "f8a1db68-be16-40ed-86d5-cb42ce701560",
        "VISIOCLIENT": "c5928f49-12ba-48f7-ada3-0d743a3601d5"}

def attr_update(t, actor, u, n_attrs, tag):
    keys = R.sample(list(ATTRS), n_attrs)
    props = [mp(k, js([R.choice(DEPTS) if k == "Department" else "old"]) if k != "Mobile" else js([]), js([ATTRS[k](u)])) for k in keys]
    props.append(incl(*keys))
    return ev_entra(t, "Update user", "UserManagement", "Core Directory", "Update", actor, [user_target(u, props)], tag=tag)

for d in range(DAYS):
    we = weekend(d)
    # HR-driven provisioning (cloud-only frontline staff): attribute changes, joiners, leavers
    frontline = [u for u in USERS if u["cloud"]]
    for _ in range(R.randint(2, 6) if we else R.randint(30, 55)):
        t = T(d, R.choice([1, 2, 3, 5, 9, 13, 17, 21]) if R.random() < 0.7 else R.randint(0, 23))  # 40-min sync cycles
        attr_update(t, HR_SP, R.choice(frontline), R.randint(1, 3), "hr_attribute_sync")
    if not we:
        for _ in range(R.randint(1, 4)):
            t = T(d, R.choice([5, 9, 13]))
            nu = {"id": gid(), "upn": "%s.%s@%s" % (R.choice(FIRST).lower(), R.choice(LAST).lower() + str(R.randint(2, 9)), DOMAIN),
                  "name": "new hire", "dept": R.choice(DEPTS), "cloud": True, "mfa": None, "methods": []}
            nu["name"] = nu["upn"].split("@")[0].replace(".", " ").title()
            ev_entra(t, "Add user", "UserManagement", "Core Directory", "Add", HR_SP,
                     [user_target(nu, [mp("AccountEnabled", js([]), js([True])), mp("DisplayName", js([]), js([nu["name"]])),
                                       mp("UserPrincipalName", js([]), js([nu["upn"]])), mp("Department", js([]), js([nu["dept"]])),
                                       incl("AccountEnabled", "DisplayName", "UserPrincipalName", "Department")])], tag="hr_joiner")
        for _ in range(R.randint(0, 2)):
            u = R.choice(frontline)
            ev_entra(T(d, R.choice([5, 9, 13])), "Disable account", "UserManagement", "Core Directory", "Update", HR_SP,
                     [user_target(u, [mp("AccountEnabled", js([True]), js([False])), incl("AccountEnabled")])], tag="hr_leaver")
        for _ in range(R.randint(2, 6)):
            u = R.choice(frontline); mgr = R.choice(USERS)
            ev_entra(T(d, R.choice([5, 9, 13])), "Set user manager", "UserManagement", "Core Directory", "Update", HR_SP,
                     [user_target(u, []), {"id": mgr["id"], "displayName": mgr["name"], "type": "User", "userPrincipalName": mgr["upn"], "modifiedProperties": []}],
                     tag="hr_manager")
    # Entra Connect sync of on-prem users (every 30 min)
    onprem = [u for u in USERS if not u["cloud"]]
    for _ in range(R.randint(3, 8) if we else R.randint(20, 40)):
        t = T(d, R.randint(0, 23), R.choice([0, 30]) + R.randint(0, 3))
        u = R.choice(onprem)
        keys = R.sample(["Department", "JobTitle", "TelephoneNumber", "PhysicalDeliveryOfficeName", "ProxyAddresses", "LastDirSyncTime", "ExtensionAttribute3"], R.randint(1, 3))
        if "LastDirSyncTime" not in keys:
            keys.append("LastDirSyncTime")
        props = []
        for k in keys:
            if k == "LastDirSyncTime":
                props.append(mp(k, js([iso(t - timedelta(days=R.randint(1, 40)), 0)]), js([iso(t, 0)])))
            elif k == "ProxyAddresses":
                props.append(mp(k, js(["SMTP:%s" % u["upn"]]), js(["SMTP:%s" % u["upn"], "smtp:%s@%s" % (u["upn"].split("@")[0], INITIAL)])))
            else:
                props.append(mp(k, js(["old"]), js([ATTRS.get(k, lambda x: "x")(u)])))
        props.append(incl(*keys))
        ev_entra(t, "Update user", "UserManagement", "Core Directory", "Update", SYNC, [user_target(u, props)], tag="entra_connect_sync", ua=False)
    # Microsoft first-party service touching users
    for _ in range(R.randint(3, 12)):
        u = R.choice(USERS)
        ev_entra(T(d, R.randint(0, 23)), "Update user", "UserManagement", "Core Directory", "Update", SUBSTRATE,
                 [user_target(u, [mp("ProxyAddresses", js(["SMTP:%s" % u["upn"]]), js(["SMTP:%s" % u["upn"], "smtp:%s@%s" % (u["upn"].split("@")[0], INITIAL)])),
                                  incl("ProxyAddresses")])], tag="ms_service_update")
    if we:
        continue
    # Licence changes by helpdesk / user admin
    for _ in range(R.randint(4, 10)):
        a = R.choice(HELPDESK + [ADMINS[3]]); u = R.choice(USERS); t = biz_time(d); c = gid()
        sku = R.choice(list(SKUS))
        ev_entra(t, "Change user license", "UserManagement", "Core Directory", "Update", a, [user_target(u, [])], corr=c, tag="licence_change")
        ev_entra(t + timedelta(seconds=1), "Update user", "UserManagement", "Core Directory", "Update", a,
                 [user_target(u, [mp("AssignedLicense", js([]), js(["[SkuName=%s, AccountId=%s, SkuId=%s, DisabledPlans=[]]" % (sku, TENANT_ID, SKUS[sku])])),
                                  mp("AssignedPlan", js([]), js([{"SubscribedPlanId": gid(), "ServiceInstance": "exchange/emea-001-01", "CapabilityStatus": 0,
                                                                   "AssignedTimestamp": iso(t, 7), "InitialState": None, "Capability": None, "ServicePlanId": gid()}])),
                                  incl("AssignedLicense", "AssignedPlan")])], corr=c, tag="licence_change")
    # Helpdesk: password resets, misc
    for _ in range(R.randint(5, 12)):
        a = R.choice(HELPDESK); u = R.choice(USERS); t = biz_time(d); c = gid()
        res = "success" if R.random() > 0.03 else "failure"
        ev_entra(t, "Reset password", "UserManagement", "Core Directory", "Update", a, [user_target(u, [])], corr=c,
                 result=res, reason="" if res == "success" else "PasswordPolicyViolation", tag="helpdesk_password_reset")
        if res == "success":
            ev_entra(t + timedelta(seconds=1), "Update user", "UserManagement", "Core Directory", "Update", a,
                     [user_target(u, [mp("StsRefreshTokensValidFrom", js([]), js([iso(t, 0)])), mp("ForceChangePasswordNextLogin", js([False]), js([True])),
                                      incl("StsRefreshTokensValidFrom", "ForceChangePasswordNextLogin")])], corr=c, tag="helpdesk_password_reset")
    for _ in range(R.randint(2, 6)):
        attr_update(biz_time(d), R.choice(HELPDESK), R.choice(USERS), 1, "helpdesk_attribute_fix")
    for _ in range(R.randint(8, 20)):
        a = R.choice(HELPDESK + ADMINS[:4]); u = R.choice(USERS)
        g = R.choice(["SG-VPN-Users", "SG-Finance-SharePoint", "SG-Intune-Pilot", "M365-Visio", "SG-Fleet-Apps", "DL-Southampton-All", "SG-PowerBI-Pro"])
        ev_entra(biz_time(d), "Add member to group", "GroupManagement", "Core Directory", "Assign", a,
                 [user_target(u, []), {"id": hashlib.md5(g.encode()).hexdigest()[:8] + "-0000-4000-8000-" + hashlib.md5(g.encode()).hexdigest()[:12],
                                       "displayName": g, "type": "Group", "modifiedProperties": [mp("Group.DisplayName", None, js(g))]}],
                 tag="group_membership")

# ----------------------------------------------------------------------------------------
# 2. Per-user MFA (StrongAuthenticationRequirement / StrongAuthenticationMethod)
# ----------------------------------------------------------------------------------------
def mfa_update(t, actor, u, old_state, new_state, tag, corr=None, attack=None, shape=None, ip=None, ua=None):
    ts_old = u.get("mfa_ts") or (t - timedelta(days=R.randint(60, 900)))
    old = js([]) if old_state is None else sar(0 if old_state == "Enabled" else 1, ts_old)
    new = js([]) if new_state is None else sar(0 if new_state == "Enabled" else 1, t if old_state is None else ts_old)
    u["mfa"] = new_state
    if new_state and old_state is None:
        u["mfa_ts"] = t
    return ev_entra(t, "Update user", "UserManagement", "Core Directory", "Update", actor,
                    [user_target(u, [mp("StrongAuthenticationRequirement", old, new), incl("StrongAuthenticationRequirement")])],
                    tag=tag, corr=corr, attack=attack, shape=shape, ip=ip, ua=ua)

for d in range(DAYS):
    if weekend(d):
        continue
    for _ in range(R.randint(1, 4)):    # helpdesk enabling per-user MFA (departments not yet on CA)
        u = R.choice([x for x in USERS if x["mfa"] is None and x["dept"] in ("Compliance", "Procurement", "Finance")])
        a = R.choice(HELPDESK); t = biz_time(d); c = gid()
        mfa_update(t, a, u, None, "Enabled", "per_user_mfa_enable", corr=c)
        if R.random() < 0.4:
            ev_entra(t, "Enable Strong Authentication", "UserManagement", "Core Directory", "Update", a, [user_target(u, [])], corr=c, tag="per_user_mfa_enable")
    for _ in range(R.randint(0, 3)):    # Enabled -> Enforced after registration
        cand = [x for x in USERS if x["mfa"] == "Enabled"]
        if cand:
            mfa_update(biz_time(d), R.choice(HELPDESK), R.choice(cand), "Enabled", "Enforced", "per_user_mfa_enforce")
    for _ in range(R.randint(1, 3)):    # "Require re-register MFA": methods wiped (lost phone)
        u = R.choice(USERS); a = R.choice(HELPDESK)
        old = u["methods"] or [6]
        u["methods"] = []
        ev_entra(biz_time(d), "Update user", "UserManagement", "Core Directory", "Update", a,
                 [user_target(u, [mp("StrongAuthenticationMethod", sam(old), js([])), incl("StrongAuthenticationMethod")])],
                 tag="mfa_method_reset_helpdesk")
    if R.random() < 0.5:                # user re-registers next day -> phone app detail / methods come back (logged by service)
        u = R.choice(USERS)
        u_actor = {"kind": "user", "id": u["id"], "upn": u["upn"], "name": u["name"], "roles": [], "ips": CORP_IPS, "home": [home_ip()]}
        ev_entra(biz_time(d), "Update user", "UserManagement", "Core Directory", "Update", u_actor,
                 [user_target(u, [mp("StrongAuthenticationMethod", js([]), sam([6, 7])), incl("StrongAuthenticationMethod")])], tag="mfa_method_reregister")

# Day 9 (Wed): identity team migrates wave 3 (Legal) from per-user MFA to Conditional Access: bulk disable via script
wave = [x for x in USERS if x["mfa"] == "Enforced" and x["dept"] == "Legal"][:14]
t0 = T(9, 18, 5, 0)
for i, u in enumerate(wave):
    t = t0 + timedelta(seconds=7 * i + R.randint(0, 3)); c = gid()
    mfa_update(t, IDENTITY[1], u, "Enforced", None, "legit_per_user_mfa_disable_ca_migration", corr=c, ip=CORP_IPS[0], ua="Microsoft Azure Graph Client Library 1.0")
    if i % 2 == 0:
        ev_entra(t, "Disable Strong Authentication", "UserManagement", "Core Directory", "Update", IDENTITY[1], [user_target(u, [])],
                 corr=c, tag="legit_per_user_mfa_disable_ca_migration", ip=CORP_IPS[0], ua="Microsoft Azure Graph Client Library 1.0")
# Helpdesk disabling per-user MFA for service accounts (scanner / reporting) moving under CA exclusion + named location
for d, sname in ((4, "svc-scan2mail"), (17, "svc-sqlreports")):
    s = SVC[sname]; a = HELPDESK[d % len(HELPDESK)]; t = T(d, 14); c = gid()
    mfa_update(t, a, s, "Enforced", None, "legit_per_user_mfa_disable_service_account", corr=c)
    ev_entra(t, "Disable Strong Authentication", "UserManagement", "Core Directory", "Update", a, [user_target(s, [])], corr=c,
             tag="legit_per_user_mfa_disable_service_account")
# Helpdesk: VIP's phone lost abroad, per-user MFA temporarily disabled then re-enabled (ticketed)
vip = R.choice([x for x in USERS if x["mfa"] == "Enforced" and x["dept"] == "Sales"])
mfa_update(T(12, 10), HELPDESK[2], vip, "Enforced", None, "legit_per_user_mfa_disable_helpdesk_temp")
mfa_update(T(13, 9), HELPDESK[2], vip, None, "Enabled", "per_user_mfa_enable")
# svc-legacy-test appears benignly as a target on day 12 (password never expires set by an admin; pre-existing weakness)
ev_entra(T(12, 15), "Update user", "UserManagement", "Core Directory", "Update", ADMINS[3],
         [user_target(SVC["svc-legacy-test"], [mp("PasswordPolicies", js(["None"]), js(["DisablePasswordExpiration"])), incl("PasswordPolicies")])],
         tag="svc_account_password_policy")

# ----------------------------------------------------------------------------------------
# 3. PIM activations and role work
# ----------------------------------------------------------------------------------------
ROLE_IDS = {"Global Administrator": "62e90394-69f5-4237-9190-012177145e10", "Exchange Administrator": "29232cdf-9323-42fd-ade2-1d097af3e4de",
            "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1", "Application Administrator": "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
            "Intune Administrator": "3a2c62db-5318-420d-8d74-23affee5d9d5", "SharePoint Administrator": "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
            "Conditional Access Administrator": "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9", "Security Administrator": "194ae4cb-b126-40b2-bd5b-6091b380977d",
            "Hybrid Identity Administrator": "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2", "Domain Name Administrator": "8329153b-31d0-4727-b945-745eb3bc5f31",
            "Teams Administrator": "69091246-20e8-4a56-aa4d-066075b2a7a8", "License Administrator": "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
            "Helpdesk Administrator": "729827e3-9c14-49f7-bb1b-9608f156bbb8", "Cloud Application Administrator": "158c047a-c907-4556-b7ef-446551a6b5f7"}

def role_target(role):
    return {"id": ROLE_IDS.get(role, gid()), "displayName": role, "type": "Role", "modifiedProperties": [
        mp("Role.DisplayName", None, js(role)), mp("Role.TemplateId", None, js(ROLE_IDS.get(role, ""))), mp("Role.WellKnownObjectName", None, js(role.replace(" ", "")))]}

for d in range(DAYS):
    if weekend(d) and R.random() < 0.7:
        continue
    for a in ADMINS + IDENTITY:
        if R.random() < (0.15 if weekend(d) else 0.75):
            role = R.choice(a["roles"]); t = biz_time(d); c = gid()
            ev_entra(t, "Add member to role requested (PIM activation)", "RoleManagement", "PIM", "Create", a, [role_target(role), user_target({"id": a["id"], "upn": a["upn"], "name": a["name"]}, [])],
                     corr=c, details=[{"key": "Justification", "value": R.choice(["BAU", "CHG%05d" % R.randint(10000, 99999), "ticket INC%06d" % R.randint(100000, 999999), "daily admin"])},
                                      {"key": "ExpirationTime", "value": iso3(t + timedelta(hours=8))}], tag="pim_activation")
            ev_entra(t + timedelta(seconds=R.randint(2, 9)), "Add member to role", "RoleManagement", "Core Directory", "Assign", MS_PIM,
                     [user_target({"id": a["id"], "upn": a["upn"], "name": a["name"]}, [mp("Role.DisplayName", None, js(role)), mp("Role.TemplateId", None, js(ROLE_IDS.get(role, "")))])],
                     corr=c, tag="pim_activation")
            ev_entra(t + timedelta(seconds=12), "Add member to role completed (PIM activation)", "RoleManagement", "PIM", "Create", a,
                     [role_target(role), user_target({"id": a["id"], "upn": a["upn"], "name": a["name"]}, [])], corr=c, tag="pim_activation")
            ev_entra(t + timedelta(hours=8, seconds=R.randint(0, 90)), "Remove member from role", "RoleManagement", "Core Directory", "Unassign", MS_PIM,
                     [user_target({"id": a["id"], "upn": a["upn"], "name": a["name"]}, [mp("Role.DisplayName", js(role), None)])], tag="pim_expiry")
# Permanent role grants by admins (new starters in IT, rotation)
for d, who, role in ((2, R.choice(USERS), "Helpdesk Administrator"), (8, R.choice(DEVS), "Cloud Application Administrator"),
                     (16, R.choice(USERS), "License Administrator"), (26, R.choice(DEVS), "Application Administrator")):
    ev_entra(biz_time(d), "Add member to role", "RoleManagement", "Core Directory", "Assign", ADMINS[0],
             [user_target({"id": who["id"], "upn": who["upn"], "name": who["name"]}, [mp("Role.DisplayName", None, js(role)), mp("Role.TemplateId", None, js(ROLE_IDS[role]))])],
             tag="admin_role_grant")

# ----------------------------------------------------------------------------------------
# 4. Conditional Access
# ----------------------------------------------------------------------------------------
EXCL_SVC_GROUP = gid(); FIN_GROUP = gid(); FIN_EXEMPT = gid(); ADMIN_ROLES = [ROLE_IDS[r] for r in ("Global Administrator", "Exchange Administrator", "Security Administrator", "Conditional Access Administrator", "User Administrator")]

def policy(name, state, include_users=("All",), exclude_users=(), include_groups=(), exclude_groups=(), include_roles=(),
           controls=("mfa",), operator="OR", apps=("All",), client=("all",), strength=None, created=None, locations=None, risk=None):
    cr = created or (START - timedelta(days=R.randint(100, 700)))
    return {"id": gid(), "displayName": name, "createdDateTime": iso(cr, 7), "modifiedDateTime": iso(cr + timedelta(days=3), 7), "state": state,
            "conditions": {"applications": {"includeApplications": list(apps), "excludeApplications": [], "includeUserActions": [], "includeAuthenticationContextClassReferences": [], "applicationFilter": None},
                           "users": {"includeUsers": list(include_users), "excludeUsers": list(exclude_users), "includeGroups": list(include_groups), "excludeGroups": list(exclude_groups),
                                     "includeRoles": list(include_roles), "excludeRoles": [], "includeGuestsOrExternalUsers": None, "excludeGuestsOrExternalUsers": None},
                           "userRiskLevels": [], "signInRiskLevels": list(risk or []), "clientAppTypes": list(client), "platforms": None, "locations": locations,
                           "devices": None, "clientApplications": None, "times": None, "deviceStates": None, "servicePrincipalRiskLevels": [], "insiderRiskLevels": None},
            "grantControls": {"operator": operator, "builtInControls": [] if strength else list(controls), "customAuthenticationFactors": [], "termsOfUse": [],
                              "authenticationStrength": strength},
            "sessionControls": None}

BG = [b["id"] for b in BREAKGLASS]
POL = {
    "CA001": policy("CA001 - Require MFA for all users", "enabled", exclude_users=BG, exclude_groups=[EXCL_SVC_GROUP]),
    "CA002": policy("CA002 - Block legacy authentication", "enabled", exclude_users=BG, controls=("block",), client=("exchangeActiveSync", "other")),
    "CA003": policy("CA003 - Require MFA for admin roles", "enabled", include_users=(), include_roles=ADMIN_ROLES, exclude_users=BG),
    "CA004": policy("CA004 - Require compliant or hybrid joined device", "enabled", exclude_users=BG, controls=("compliantDevice", "domainJoinedDevice"), exclude_groups=[EXCL_SVC_GROUP]),
    "CA005": policy("CA005 - Require compliant device for Exchange Online", "enabled", exclude_users=BG, controls=("compliantDevice",), apps=("00000002-0000-0ff1-ce00-000000000000",)),
    "CA006": policy("CA006 - Block access from unsupported countries", "enabled", exclude_users=BG, controls=("block",),
                    locations={"includeLocations": ["All"], "excludeLocations": [gid(), gid()]}),
    "CA007": policy("CA007 - Require phishing-resistant MFA for admins", "enabledForReportingButNotEnforced", include_users=(), include_roles=ADMIN_ROLES, exclude_users=BG[:1],
                    strength={"id": "00000000-0000-0000-0000-000000000004", "displayName": "Phishing-resistant MFA", "allowedCombinations": ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"]}),
    "CA008": policy("CA008 - High sign-in risk requires MFA", "enabled", exclude_users=BG, risk=["high"]),
    "CA099": policy("CA099 - PILOT MFA for IT (old)", "disabled", include_users=(), include_groups=[gid()]),
}
import copy

def ca_event(t, actor, activity, key, mutate=None, tag=None, attack=None, shape=None, result="success", reason="", ip=None, ua=None):
    old = copy.deepcopy(POL.get(key)) if activity != "Add conditional access policy" else None
    if activity == "Delete conditional access policy":
        new = None
        POL.pop(key)
    else:
        if activity == "Add conditional access policy":
            new = mutate
        else:
            new = copy.deepcopy(old)
            mutate(new)
        new["modifiedDateTime"] = iso(t, 7) if activity != "Add conditional access policy" else None
        if result == "success":
            POL[key] = new
    p = new or old
    tgt = {"id": p["id"], "displayName": p["displayName"], "type": "Policy",
           "modifiedProperties": [mp("ConditionalAccessPolicy", js(old) if old else None, js(new) if new else None)]}
    return ev_entra(t, activity, "Policy", "Conditional Access", {"Add conditional access policy": "Add", "Update conditional access policy": "Update"}.get(activity, "Delete"),
                    actor, [tgt], tag=tag, attack=attack, shape=shape, result=result, reason=reason, ip=ip, ua=ua)

hw, mo = IDENTITY[0], IDENTITY[1]
# pilot lifecycles
ca_event(T(1, 10), hw, "Add conditional access policy", "CA010",
         policy("CA010 - Require compliant device - Finance (pilot)", "enabledForReportingButNotEnforced", include_users=(), include_groups=[FIN_GROUP],
                exclude_users=BG, controls=("compliantDevice",), created=T(1, 10)), tag="ca_new_policy_report_only")
ca_event(T(3, 11), mo, "Update conditional access policy", "CA007", lambda p: p["conditions"]["users"]["excludeUsers"].append(BG[1]), tag="ca_breakglass_exclusion_added")
ca_event(T(4, 14), hw, "Add conditional access policy", "CA011",
         policy("CA011 - Require MFA for guests", "enabledForReportingButNotEnforced", include_users=("GuestsOrExternalUsers",), exclude_users=BG, created=T(4, 14)),
         tag="ca_new_policy_report_only")
ca_event(T(6, 15), hw, "Update conditional access policy", "CA010", lambda p: p["conditions"]["users"]["excludeGroups"].append(FIN_EXEMPT), tag="ca_pilot_exclusion_group_added")
ca_event(T(6, 15, 40), HELPDESK[0], "Update conditional access policy", "CA010", lambda p: p.update(state="enabled"), tag="ca_failed_update",
         result="failure", reason="User is not authorized to perform this action.")
ca_event(T(12, 9), hw, "Update conditional access policy", "CA010", lambda p: p.update(state="enabled"), tag="ca_report_only_to_enabled")
ca_event(T(15, 10), mo, "Update conditional access policy", "CA011", lambda p: p.update(state="enabled"), tag="ca_report_only_to_enabled")
ca_event(T(18, 16), hw, "Delete conditional access policy", "CA099", tag="ca_delete_old_pilot")
# maintenance windows: temporary disable / report-only, then re-enable
ca_event(T(11, 21, 5), ADMINS[5], "Update conditional access policy", "CA005", lambda p: p.update(state="disabled"), tag="ca_maintenance_disable_reenable", ip=CORP_IPS[1])
ca_event(T(11, 23, 38), ADMINS[5], "Update conditional access policy", "CA005", lambda p: p.update(state="enabled"), tag="ca_maintenance_disable_reenable", ip=CORP_IPS[1])
ca_event(T(25, 19, 2), hw, "Update conditional access policy", "CA004", lambda p: p.update(state="enabledForReportingButNotEnforced"), tag="ca_maintenance_disable_reenable")
ca_event(T(25, 20, 16), hw, "Update conditional access policy", "CA004", lambda p: p.update(state="enabled"), tag="ca_maintenance_disable_reenable")
# policy-as-code pipeline (service principal) changes
ca_event(T(19, 7, 12), CA_PIPE, "Update conditional access policy", "CA006", lambda p: p["conditions"]["locations"]["excludeLocations"].append(gid()), tag="ca_pipeline_update")
ca_event(T(27, 7, 9), CA_PIPE, "Update conditional access policy", "CA008", lambda p: p["conditions"]["signInRiskLevels"].append("medium"), tag="ca_pipeline_update")
ca_event(T(27, 7, 10), CA_PIPE, "Update conditional access policy", "CA003", lambda p: p["conditions"]["users"]["includeRoles"].append(ROLE_IDS["Hybrid Identity Administrator"]), tag="ca_pipeline_update")
# ATTACK (day 20, kept here so CA001's old/new JSON stays chronologically consistent): self-exclusion from enforced MFA policy
ua_atk = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36"
a3 = ca_event(T(20, 2, 41, 33), ATTACKER, "Update conditional access policy", "CA001",
              lambda p: p["conditions"]["users"]["excludeUsers"].append(ATTACKER["id"]),
              attack="attacker excluded itself (svc-legacy-test) from enforced MFA CA policy CA001", shape="b", ip=PROXY_IPS[1], ua=ua_atk)
# day 22: ticketed temporary exclusion of kiosk sync service account from the enforced MFA policy (same day as the attack!)
ca_event(T(22, 11, 20), mo, "Update conditional access policy", "CA001", lambda p: p["conditions"]["users"]["excludeUsers"].append(SVC["svc-kiosk-sync"]["id"]),
         tag="ca_legit_user_exclusion_enforced_mfa")
ca_event(T(24, 10, 5), mo, "Update conditional access policy", "CA001", lambda p: p["conditions"]["users"]["excludeUsers"].remove(SVC["svc-kiosk-sync"]["id"]),
         tag="ca_exclusion_removed")
for d, act in ((1, "Add named location"), (19, "Update named location"), (23, "Update named location")):
    loc = {"id": gid(), "displayName": R.choice(["HQ egress", "Trusted branch offices", "Felixstowe port WAN"]), "ipRanges": [{"cidrAddress": "198.51.100.0/24"}], "isTrusted": True}
    ev_entra(biz_time(d), act, "Policy", "Conditional Access", "Add" if act.startswith("Add") else "Update", hw if d != 19 else CA_PIPE,
             [{"id": loc["id"], "displayName": loc["displayName"], "type": "Policy", "modifiedProperties": [mp("NamedLocation", None if act.startswith("Add") else js(loc), js(loc))]}],
             tag="ca_named_location")

# ----------------------------------------------------------------------------------------
# 5. Domains and federation
# ----------------------------------------------------------------------------------------
def dom_target(name, props):
    return {"id": None, "displayName": name, "type": "Other", "modifiedProperties": props}

def cert_blob(seed):
    h = hashlib.sha256(seed.encode()).digest() * 8
    import base64
    return "MIIC8DCCAdigAwIBAgIQ" + base64.b64encode(h[:160]).decode()

ec = IDENTITY[2]
# new marketing domain: add, failed verification (DNS not propagated), verify
ev_entra(T(5, 10), "Add unverified domain", "DirectoryManagement", "Core Directory", "Add", ec, [dom_target("harbourline-events.com", [])], tag="legit_new_domain")
ev_entra(T(5, 10, 31), "Verify domain", "DirectoryManagement", "Core Directory", "Other", ec, [dom_target("harbourline-events.com", [])], result="failure",
         reason="Domain verification failed: the TXT record could not be found.", tag="legit_new_domain")
ev_entra(T(6, 9), "Verify domain", "DirectoryManagement", "Core Directory", "Other", ec, [dom_target("harbourline-events.com", [mp("Verified", js([False]), js([True])), incl("Verified")])],
         tag="legit_new_domain")
# planned AD FS token-signing certificate renewal (both federated domains): next cert staged, then promoted
for day, prop in ((8, "NextSigningCertificate"), (10, "SigningCertificate")):
    for dn in (DOMAIN, DOMAIN2):
        ev_entra(T(day, 19, R.randint(0, 20)), "Set federation settings on domain", "DirectoryManagement", "Core Directory", "Update", ec,
                 [dom_target(dn, [mp(prop, js([cert_blob("old" + dn + prop)]), js([cert_blob("new2025" + dn)])), incl(prop)])],
                 details=[{"key": "extendedAuditEventCategory", "value": "Domain"}], tag="planned_federation_cert_renewal", ua="Microsoft Graph PowerShell 2.15.0")
# planned migration off AD FS (staged rollout finished): federated -> managed, Saturday night change window
for i, dn in enumerate((DOMAIN2, DOMAIN)):
    t = T(19, 22, 10 + 25 * i)
    ev_entra(t, "Set domain authentication", "DirectoryManagement", "Core Directory", "Update", ec,
             [dom_target(dn, [mp("LiveType", js(["Federated"]), js(["Managed"])), incl("LiveType")])],
             tag="planned_adfs_to_managed_migration", ua="Microsoft Graph PowerShell 2.15.0")
    ev_entra(t + timedelta(minutes=3), "Update domain", "DirectoryManagement", "Core Directory", "Update", ec, [dom_target(dn, [])], tag="planned_adfs_to_managed_migration")

# ----------------------------------------------------------------------------------------
# 6. Partners, cross-tenant access, identity sync, GDAP
# ----------------------------------------------------------------------------------------
def xtap_target(org, props):
    return {"id": org["tid"], "displayName": org["name"], "type": "Other", "modifiedProperties": props}

B2B_ALLOW = js({"usersAndGroups": {"accessType": "allowed", "targets": [{"target": "AllUsers", "targetType": "user"}]},
                "applications": {"accessType": "allowed", "targets": [{"target": "AllApplications", "targetType": "application"}]}})

def trust(mfa, comp=False, hyb=False):
    return js({"isMfaAccepted": mfa, "isCompliantDeviceAccepted": comp, "isHybridAzureADJoinedDeviceAccepted": hyb})

a0 = ADMINS[0]
for day, key in ((3, "contoso_research"), (7, "fabrikam")):
    org = OTHER_ORGS[key]
    ev_entra(biz_time(day), "Add a partner to cross-tenant access setting", "CrossTenantAccessSettings", "Core Directory", "Add", mo,
             [xtap_target(org, [mp("tenantId", None, js(org["tid"]))])], tag="b2b_partner_added")
    ev_entra(biz_time(day), "Update a partner cross-tenant access setting", "CrossTenantAccessSettings", "Core Directory", "Update", mo,
             [xtap_target(org, [mp("tenantId", js(org["tid"]), js(org["tid"])), mp("b2bCollaborationInbound", None, B2B_ALLOW)])], tag="b2b_partner_inbound_allowed")
sis = OTHER_ORGS["sister"]
ev_entra(T(9, 10), "Add a partner to cross-tenant access setting", "CrossTenantAccessSettings", "Core Directory", "Add", a0,
         [xtap_target(sis, [mp("tenantId", None, js(sis["tid"]))])], tag="sister_tenant_partner_added")
ev_entra(T(9, 10, 20), "Update a partner cross-tenant access setting", "CrossTenantAccessSettings", "Core Directory", "Update", a0,
         [xtap_target(sis, [mp("tenantId", js(sis["tid"]), js(sis["tid"])), mp("inboundTrust", None, trust(True, True, True)), mp("b2bCollaborationInbound", None, B2B_ALLOW)])],
         tag="sister_tenant_mfa_trust")
ev_entra(T(9, 10, 24), "Update a partner cross-tenant access setting", "CrossTenantAccessSettings", "Core Directory", "Update", a0,
         [xtap_target(sis, [mp("automaticUserConsentSettings", None, js({"inboundAllowed": True, "outboundAllowed": True}))])], tag="sister_tenant_auto_consent")
ev_entra(T(10, 14), "Create a partner cross-tenant identity sync setting", "CrossTenantIdentitySyncSettings", "Core Directory", "Add", hw,
         [xtap_target(sis, [mp("tenantId", None, js(sis["tid"])), mp("displayName", None, js("Harbourline Marine merger sync")), mp("userSyncInbound", None, js({"isSyncAllowed": True}))])],
         tag="merger_inbound_identity_sync")
ev_entra(T(11, 9), "Update a partner cross-tenant identity sync setting", "CrossTenantIdentitySyncSettings", "Core Directory", "Update", hw,
         [xtap_target(sis, [mp("displayName", js("Harbourline Marine merger sync"), js("HMS -> HL cross-tenant sync (merger)")), mp("userSyncInbound", js({"isSyncAllowed": True}), js({"isSyncAllowed": True}))])],
         tag="merger_inbound_identity_sync")
ev_entra(T(23, 15), "Update a partner cross-tenant access setting", "CrossTenantAccessSettings", "Core Directory", "Update", mo,
         [xtap_target(OTHER_ORGS["fabrikam"], [mp("inboundTrust", js({"isMfaAccepted": False, "isCompliantDeviceAccepted": False, "isHybridAzureADJoinedDeviceAccepted": False}), trust(True))])],
         tag="b2b_partner_mfa_trust")
# GDAP with the MSP: relationship approval by GA, then Microsoft's PCDA service principal configures things
msp = OTHER_ORGS["msp"]
t = T(5, 13, 2)
ev_entra(t + timedelta(minutes=1), "Add a partner to cross-tenant access setting", "CrossTenantAccessSettings", "Core Directory", "Add", PCDA,
         [xtap_target(msp, [mp("tenantId", None, js(msp["tid"])), mp("isServiceProvider", None, js(True))])], tag="gdap_setup_msp")
ev_entra(t + timedelta(minutes=1, seconds=4), "Update a partner cross-tenant access setting", "CrossTenantAccessSettings", "Core Directory", "Update", PCDA,
         [xtap_target(msp, [mp("inboundTrust", None, trust(True)), mp("isServiceProvider", js(True), js(True))])], tag="gdap_setup_msp")
for role in ("Helpdesk Administrator", "User Administrator", "Exchange Administrator"):
    ev_entra(t + timedelta(minutes=2, seconds=R.randint(0, 40)), "Add member to role", "RoleManagement", "Core Directory", "Assign", PCDA,
             [{"id": gid(), "displayName": "Northgate GDAP - %s" % role, "type": "ServicePrincipal", "modifiedProperties":
               [mp("Role.DisplayName", None, js(role)), mp("Role.TemplateId", None, js(ROLE_IDS[role]))]}], tag="gdap_setup_msp")
# old reseller DAP cleanup
ev_entra(T(13, 11), "Remove partner from company", "DirectoryManagement", "Core Directory", "Delete", a0,
         [{"id": OTHER_ORGS["old_reseller"]["tid"], "displayName": OTHER_ORGS["old_reseller"]["name"], "type": "Other",
           "modifiedProperties": [mp("PartnerTenantId", js(OTHER_ORGS["old_reseller"]["tid"]), None), mp("PartnerType", js("Resell"), None)]}], tag="legacy_dap_partner_removed")

# ----------------------------------------------------------------------------------------
# 7. Applications and consent
# ----------------------------------------------------------------------------------------
APPS_DEV = ["hl-fleet-telemetry-api", "hl-portcall-webhook", "hl-invoice-ocr", "hl-warehouse-scanner-app", "PowerApps-Leave-Request",
            "hl-datalake-ingest", "hl-github-oidc-prod", "hl-github-oidc-dev", "Customer Portal (staging)", "hl-teams-bot"]
GALLERY = ["Zoom", "Slack", "DocuSign", "ServiceNow", "Atlassian Cloud", "Miro", "Adobe Acrobat Sign", "Workday", "Mimecast", "KnowBe4"]
PERMS = ["User.Read", "User.Read openid profile email offline_access", "Mail.Read", "Calendars.ReadWrite", "Files.Read.All", "Sites.Read.All", "User.ReadBasic.All"]
for d in range(DAYS):
    if weekend(d):
        continue
    if R.random() < 0.55:
        dv = R.choice(DEVS); name = R.choice(APPS_DEV) + ("" if R.random() < 0.6 else "-%d" % R.randint(2, 9)); aid = gid(); t = biz_time(d)
        ev_entra(t, "Add application", "ApplicationManagement", "Core Directory", "Add", dv,
                 [{"id": gid(), "displayName": name, "type": "Application", "modifiedProperties": [mp("AppId", None, js([aid])), mp("AvailableToOtherTenants", None, js([False])), mp("DisplayName", None, js([name])), incl("AppId", "AvailableToOtherTenants", "DisplayName")]}],
                 tag="app_registration")
        ev_entra(t + timedelta(seconds=3), "Add service principal", "ApplicationManagement", "Core Directory", "Add", dv,
                 [{"id": gid(), "displayName": name, "type": "ServicePrincipal", "modifiedProperties": [mp("AccountEnabled", None, js([True])), mp("AppPrincipalId", None, js([aid])), mp("DisplayName", None, js([name])), incl("AccountEnabled", "AppPrincipalId", "DisplayName")]}],
                 tag="app_registration")
    if R.random() < 0.7:
        actor = R.choice(DEVS) if R.random() < 0.7 else KV_ROT; name = R.choice(APPS_DEV)
        kid = gid()
        cred = js(["[KeyIdentifier=%s,KeyType=Password,KeyUsage=Verify,DisplayName=%s]" % (kid, R.choice(["ci-secret", "rotated", "prod-2025Q1", "CWAP_AuthSecret"]))])
        ev_entra(biz_time(d) if actor is not KV_ROT else T(d, 2), "Update application – Certificates and secrets management ", "ApplicationManagement", "Core Directory", "Update", actor,
                 [{"id": gid(), "displayName": name, "type": "Application", "modifiedProperties": [mp("KeyDescription", js([]), cred), incl("KeyDescription")]}],
                 tag="app_secret_rotation")
    for _ in range(R.randint(0, 3)):   # user consent to low-risk verified apps
        u = R.choice(USERS); ua = {"kind": "user", "id": u["id"], "upn": u["upn"], "name": u["name"], "roles": [], "ips": CORP_IPS, "home": [home_ip()]}
        appn = R.choice(GALLERY); perms = R.choice(PERMS[:2] + PERMS[6:])
        ev_entra(biz_time(d), "Consent to application", "ApplicationManagement", "Core Directory", "Assign", ua,
                 [{"id": gid(), "displayName": appn, "type": "ServicePrincipal", "modifiedProperties": [
                     mp("ConsentContext.IsAdminConsent", None, js("False")), mp("ConsentContext.IsAppOnly", None, js("False")),
                     mp("ConsentContext.OnBehalfOfAll", None, js("False")), mp("ConsentContext.Tags", None, js("WindowsAzureActiveDirectoryIntegratedApp")),
                     mp("ConsentAction.Permissions", None, js("[] => [[Id: %s, ClientId: %s, PrincipalId: %s, ResourceId: %s, ConsentType: Principal, Scope: %s, CreatedDateTime: , LastModifiedDateTime ]]; " % (gid(), gid(), u["id"], gid(), perms))),
                     mp("TargetId.ServicePrincipalNames", None, js(gid()))]}], tag="user_consent")
    if R.random() < 0.3:
        appn = R.choice(GALLERY + APPS_DEV); perms = R.choice(PERMS)
        c = gid(); t = biz_time(d)
        ev_entra(t, "Consent to application", "ApplicationManagement", "Core Directory", "Assign", ADMINS[4],
                 [{"id": gid(), "displayName": appn, "type": "ServicePrincipal", "modifiedProperties": [
                     mp("ConsentContext.IsAdminConsent", None, js("True")), mp("ConsentContext.IsAppOnly", None, js("False")), mp("ConsentContext.OnBehalfOfAll", None, js("True")),
                     mp("ConsentAction.Permissions", None, js("[] => [[Id: %s, ConsentType: AllPrincipals, Scope: %s]]; " % (gid(), perms)))]}], corr=c, tag="admin_consent")
        if R.random() < 0.5:
            ev_entra(t + timedelta(seconds=2), "Add app role assignment to service principal", "ApplicationManagement", "Core Directory", "Assign", ADMINS[4],
                     [{"id": gid(), "displayName": "Microsoft Graph", "type": "ServicePrincipal", "modifiedProperties": [
                         mp("AppRole.Value", None, js(R.choice(["User.Read.All", "Group.Read.All", "Sites.Selected", "Mail.Send"]))),
                         mp("ServicePrincipal.DisplayName", None, js(appn))]}], corr=c, tag="app_role_assignment")
    if R.random() < 0.35:
        appn = R.choice(GALLERY)
        ev_entra(biz_time(d), "Add service principal", "ApplicationManagement", "Core Directory", "Add", ADMINS[4],
                 [{"id": gid(), "displayName": appn, "type": "ServicePrincipal", "modifiedProperties": [mp("DisplayName", None, js([appn])), incl("DisplayName")]}],
                 tag="enterprise_app_added")
    if R.random() < 0.04:
        ev_entra(biz_time(d), "Add application", "ApplicationManagement", "Core Directory", "Add", R.choice(DEVS),
                 [{"id": None, "displayName": "hl-test", "type": "Application", "modifiedProperties": []}], result="failure",
                 reason="Microsoft.Online.DirectoryServices.AuthorizationException", tag="app_failure")

# ----------------------------------------------------------------------------------------
# 8. Exchange admin (RecordType 1)
# ----------------------------------------------------------------------------------------
EXO_SERVERS = ["AM9PR06MB7%03d (15.20.7386.0%02d)" % (R.randint(100, 999), R.randint(10, 40)) for _ in range(12)]
SHARED = ["accounts.payable", "port.ops.desk", "hr.enquiries", "fleet.bookings", "customer.service", "it.servicedesk", "legal.matters"]

def exo_ip():
    return R.choice(["%s:%d" % (R.choice(CORP_IPS), R.randint(1024, 65000)), "[2603:10a6:208:%x::%x]:%d" % (R.randint(1, 0xfff), R.randint(1, 0xff), R.randint(1024, 65000)), R.choice(CORP_IPS)])

EXO_ADMINS = [ADMINS[1], ADMINS[2], ADMINS[0], ADMINS[3]]
for d in range(DAYS):
    we = weekend(d)
    for _ in range(R.randint(0, 2) if we else R.randint(6, 16)):
        a = R.choice(EXO_ADMINS); u = R.choice(USERS)
        opts = [("ProhibitSendQuota", R.choice(["49.5 GB (53150220288 bytes)", "99 GB"])), ("IssueWarningQuota", "49 GB"), ("RetentionPolicy", "HL Default MRM"),
                ("LitigationHoldEnabled", "True"), ("HiddenFromAddressListsEnabled", R.choice(["True", "False"])), ("Type", "Shared"),
                ("GrantSendOnBehalfTo", R.choice(USERS)["upn"]), ("EmailAddresses", "smtp:%s" % u["upn"].replace(DOMAIN, DOMAIN2)),
                ("MessageCopyForSentAsEnabled", "True"), ("CustomAttribute7", R.choice(DEPTS)), ("AuditEnabled", "True"), ("SingleItemRecoveryEnabled", "True")]
        ps = R.sample(opts, R.randint(1, 3))
        tag = "exo_set_mailbox_auditenabled" if any(k == "AuditEnabled" for k, _ in ps) else "exo_set_mailbox"
        ev_exo(biz_time(d), "Set-Mailbox", a, u["upn"].split("@")[0], [{"Name": "Identity", "Value": u["id"]}] + [{"Name": k, "Value": v} for k, v in ps] , tag=tag, ip=exo_ip())
    for _ in range(R.randint(1, 6)):   # Exchange itself
        u = R.choice(USERS)
        ev_exo(T(d, R.randint(0, 23)), "Set-Mailbox", EXO_SYSTEM, u["upn"].split("@")[0],
               [{"Name": "Identity", "Value": u["id"]}, {"Name": R.choice(["RecipientLimits", "AuditEnabled", "ArchiveStatus", "RetentionHoldEnabled"]), "Value": R.choice(["500", "True", "False"])}],
               tag="exo_set_mailbox_system")
    if we:
        continue
    if R.random() < 0.8:
        mb = R.choice(SHARED); u = R.choice(USERS)
        ev_exo(biz_time(d), "Add-MailboxPermission", R.choice(EXO_ADMINS), mb,
               [{"Name": "Identity", "Value": mb}, {"Name": "User", "Value": u["upn"]}, {"Name": "AccessRights", "Value": "FullAccess"},
                {"Name": "InheritanceType", "Value": "All"}, {"Name": "AutoMapping", "Value": R.choice(["True", "False"])}], tag="exo_fullaccess_shared_mailbox", ip=exo_ip())
    for _ in range(R.randint(1, 4)):
        u = R.choice(USERS)
        ev_exo(biz_time(d), "Set-CASMailbox", R.choice(EXO_ADMINS), u["upn"].split("@")[0],
               [{"Name": "Identity", "Value": u["upn"]}, {"Name": R.choice(["ActiveSyncEnabled", "OWAforDevicesEnabled", "PopEnabled", "ImapEnabled"]), "Value": "False"}], tag="exo_casmailbox", ip=exo_ip())
    for _ in range(R.randint(1, 5)):
        u = R.choice(USERS); g = R.choice(["DL-Southampton-All", "DL-Fleet-Managers", "DL-Finance-Team", "DL-Port-Shift-Leads"])
        ev_exo(biz_time(d), "Add-DistributionGroupMember", R.choice(EXO_ADMINS + HELPDESK[:2]), g, [{"Name": "Identity", "Value": g}, {"Name": "Member", "Value": u["upn"]}], tag="exo_dl_member", ip=exo_ip())
    if R.random() < 0.12:
        ev_exo(biz_time(d), R.choice(["Set-TransportRule", "New-TransportRule"]), ADMINS[1], "External sender banner",
               [{"Name": "Identity", "Value": "External sender banner"}, {"Name": "ApplyHtmlDisclaimerText", "Value": "<p>CAUTION: external email</p>"}], tag="exo_transport_rule", ip=exo_ip())
for d, who, role in ((2, ADMINS[1], "ApplicationImpersonation"), (2, ADMINS[1], "Mailbox Import Export"), (14, ADMINS[2], "View-Only Audit Logs"),
                     (20, EXO_SYSTEM, "MyBaseOptions"), (26, ADMINS[1], "Mail Recipients")):
    u = R.choice(["svc-migrationwiz@%s" % DOMAIN, "svc-backup-veeam@%s" % DOMAIN, "adm.mokafor@%s" % DOMAIN, "Default Role Assignment Policy", "Recipient Management"])
    ev_exo(T(d, 10 if who is not EXO_SYSTEM else 6), "New-ManagementRoleAssignment", who, "%s-%s" % (role, u.split("@")[0]),
           [{"Name": "Role", "Value": role}, {"Name": "User" if "@" in u else "Policy", "Value": u}, {"Name": "Name", "Value": "%s-%s" % (role, u.split("@")[0])}],
           tag="exo_new_management_role_assignment", ip=None if who is EXO_SYSTEM else exo_ip())
for d in (0, 15, 27):
    ev_exo(T(d, R.randint(1, 5)), "Set-AdminAuditLogConfig", EXO_SYSTEM, "Admin Audit Log Settings",
           [{"Name": "AdminAuditLogEnabled", "Value": "True"}], tag="exo_system_admin_audit_log_config")
ev_exo(T(1, 4), "Set-OrganizationConfig", EXO_SYSTEM, ORG_NAME, [{"Name": "AuditDisabled", "Value": "False"}], tag="exo_system_org_config")

# ----------------------------------------------------------------------------------------
# 9. Failures sprinkled on routine ops
# ----------------------------------------------------------------------------------------
REASONS = ["Microsoft.Online.Workflows.ValidationException", "Request_BadRequest", "Property value is invalid.",
           "Another object with the same value for property proxyAddresses already exists.", "Insufficient privileges to complete the operation.",
           "UserNotFound", "The directory object quota limit for the Principal has been exceeded."]
for e in EVENTS:
    if e["src"] == "entra" and e["result"] == "success" and e["tag"] in ("hr_attribute_sync", "helpdesk_attribute_fix", "group_membership", "licence_change", "entra_connect_sync") \
            and R.random() < 0.02:
        e["result"] = "failure"; e["reason"] = R.choice(REASONS); e["tag"] = e["tag"] + "_failed"
        for tg in e["targets"]:
            tg["modifiedProperties"] = []

# ----------------------------------------------------------------------------------------
# 10. The attack (days 20-22), svc-legacy-test from residential proxies
# ----------------------------------------------------------------------------------------
ATK = "svc-legacy-test"
victims = [x for x in USERS if x["mfa"] == "Enforced" and x["dept"] == "Finance" and x["mfa_ts"] is None][:2]
a1 = mfa_update(T(20, 2, 14, 7), ATTACKER, victims[0], "Enforced", None, None, attack="per-user MFA disabled for %s (StrongAuthenticationRequirement emptied)" % victims[0]["upn"],
                shape="c", ip=PROXY_IPS[0], ua=UA_PS[1])
a2 = mfa_update(T(20, 2, 16, 51), ATTACKER, victims[1], "Enforced", None, None, attack="per-user MFA disabled for %s (StrongAuthenticationRequirement emptied)" % victims[1]["upn"],
                shape="a", ip=PROXY_IPS[0], ua=UA_PS[1])
a4 = ev_exo(T(20, 3, 2, 10), "Set-AdminAuditLogConfig", ATTACKER, "Admin Audit Log Settings",
            [{"Name": "UnifiedAuditLogIngestionEnabled", "Value": "False"}],
            attack="Set-AdminAuditLogConfig -UnifiedAuditLogIngestionEnabled $false (unified audit log turned off)", ip="%s:%d" % (PROXY_IPS[1], 50112))
UAL_OFF = a4["t"] + timedelta(minutes=50)       # takes effect within ~1h
EVIL = "hl-secure-idp.com"
a5 = ev_entra(T(21, 1, 7, 40), "Add unverified domain", "DirectoryManagement", "Core Directory", "Add", ATTACKER, [dom_target(EVIL, [])],
              attack="new domain %s added" % EVIL, shape="a", ip=PROXY_IPS[2], ua=ua_atk)
a6 = ev_entra(T(21, 1, 26, 3), "Verify domain", "DirectoryManagement", "Core Directory", "Other", ATTACKER,
              [dom_target(EVIL, [mp("Verified", js([False]), js([True])), incl("Verified")])], attack="domain %s verified" % EVIL, shape="b", ip=PROXY_IPS[2], ua=ua_atk)
c_fed = gid()
a7 = ev_entra(T(21, 3, 48, 12), "Set domain authentication", "DirectoryManagement", "Core Directory", "Update", ATTACKER,
              [dom_target(EVIL, [mp("LiveType", js(["Managed"]), js(["Federated"])), incl("LiveType")])], corr=c_fed,
              attack="domain %s switched Managed->Federated (~2.5h after being added)" % EVIL, shape="b", ip=PROXY_IPS[3], ua=UA_PS[0])
a8 = ev_entra(T(21, 3, 48, 19), "Set federation settings on domain", "DirectoryManagement", "Core Directory", "Update", ATTACKER,
              [dom_target(EVIL, [mp("IssuerUri", None, js(["http://%s/adfs/services/trust/" % EVIL])),
                                 mp("PassiveLogOnUri", None, js(["https://login.%s/adfs/ls/" % EVIL])),
                                 mp("SigningCertificate", None, js([cert_blob("attacker")])),
                                 mp("PreferredAuthenticationProtocol", None, js(["WsFed"])),
                                 mp("FederatedIdpMfaBehavior", None, js(["acceptIfMfaDoneByFederatedIdp"])),
                                 incl("IssuerUri", "PassiveLogOnUri", "SigningCertificate", "PreferredAuthenticationProtocol", "FederatedIdpMfaBehavior")])],
              details=[{"key": "extendedAuditEventCategory", "value": "Domain"}], corr=c_fed,
              attack="federation settings (issuer, signing cert, accepts IdP MFA) set on %s" % EVIL, shape="a", ip=PROXY_IPS[3], ua=UA_PS[0])
evil = OTHER_ORGS["attacker"]
a9 = ev_entra(T(22, 2, 5, 44), "Add a partner to cross-tenant access setting", "CrossTenantAccessSettings", "Core Directory", "Add", ATTACKER,
              [xtap_target(evil, [mp("tenantId", None, js(evil["tid"]))])], attack="attacker tenant %s added as cross-tenant partner" % evil["tid"],
              shape="a", ip=PROXY_IPS[4], ua=ua_atk)
a10 = ev_entra(T(22, 2, 6, 30), "Update a partner cross-tenant access setting", "CrossTenantAccessSettings", "Core Directory", "Update", ATTACKER,
               [xtap_target(evil, [mp("tenantId", js(evil["tid"]), js(evil["tid"])), mp("inboundTrust", None, trust(True, True, True)), mp("b2bCollaborationInbound", None, B2B_ALLOW)])],
               attack="attacker tenant trusted for inbound MFA/device claims + inbound B2B allowed", shape="b", ip=PROXY_IPS[4], ua=ua_atk)
a11 = ev_entra(T(22, 2, 9, 2), "Create a partner cross-tenant identity sync setting", "CrossTenantIdentitySyncSettings", "Core Directory", "Add", ATTACKER,
               [xtap_target(evil, [mp("tenantId", None, js(evil["tid"])), mp("displayName", None, js("sync")), mp("userSyncInbound", None, js({"isSyncAllowed": True}))])],
               attack="inbound cross-tenant identity sync allowed from attacker tenant", shape="a", ip=PROXY_IPS[4], ua=ua_atk)
a12 = ev_entra(T(22, 2, 37, 55), "Add partner to company", "DirectoryManagement", "Core Directory", "Add", ATTACKER,
               [{"id": evil["tid"], "displayName": evil["name"], "type": "Other",
                 "modifiedProperties": [mp("PartnerTenantId", None, js(evil["tid"])), mp("PartnerType", None, js("DelegatedAdmin")), mp("Roles", None, js(["Company Administrator", "Helpdesk Administrator"]))]}],
               attack="DAP partner (delegated admin) approved for attacker tenant", shape="b", ip=PROXY_IPS[5], ua=ua_atk)
# Response: on day 23 an admin notices the compliance alert and re-enables the unified audit log
UAL_ON = T(23, 9, 41, 0)
ev_exo(UAL_ON, "Set-AdminAuditLogConfig", ADMINS[7], "Admin Audit Log Settings", [{"Name": "UnifiedAuditLogIngestionEnabled", "Value": "True"}],
       tag="ual_reenabled_by_admin_after_alert", ip=exo_ip())

# UAL is off from UAL_OFF to UAL_ON: Exchange admin records do not exist in that window; Entra records only flow via Azure Monitor.
EVENTS[:] = [e for e in EVENTS if not (e["src"] == "exo" and UAL_OFF <= e["t"] < UAL_ON and not e["attack"])]

# ----------------------------------------------------------------------------------------
# Shape assignment
# ----------------------------------------------------------------------------------------
n_exo = sum(1 for e in EVENTS if e["src"] == "exo")
free = [e for e in EVENTS if e["src"] == "entra" and e["shape"] is None]
tot = len(EVENTS); third = tot / 3.0
pre_c = sum(1 for e in EVENTS if e["shape"] == "c")
eligible_c = [e for e in free if not (UAL_OFF <= e["t"] < UAL_ON)]
p_c = max(0.0, (third - pre_c) / max(1, len(eligible_c)))
for e in free:
    if not (UAL_OFF <= e["t"] < UAL_ON) and R.random() < p_c:
        e["shape"] = "c"
    else:
        e["shape"] = R.choice("ab")

# ----------------------------------------------------------------------------------------
# Renderers
# ----------------------------------------------------------------------------------------
def initiated_by(actor, ip):
    if actor["kind"] == "app":
        return {"app": {"appId": actor["appId"], "displayName": actor["name"], "servicePrincipalId": actor["spid"], "servicePrincipalName": actor["name"]}}
    return {"user": {"id": actor["id"], "displayName": None, "userPrincipalName": actor["upn"], "ipAddress": ip or "", "roles": []}}

def clean_targets(tgts):
    out = []
    for tg in tgts:
        o = {"id": tg.get("id"), "displayName": tg.get("displayName"), "type": tg.get("type"),
             "modifiedProperties": tg.get("modifiedProperties", []), "administrativeUnits": []}
        if tg.get("type") == "User":
            o["userPrincipalName"] = tg.get("userPrincipalName")
        else:
            o["userPrincipalName"] = None
        out.append(o)
    return out

def identity_str(actor):
    return actor["name"] if actor["kind"] == "app" else (None if R.random() < 0.5 else actor["upn"])

def render_a(e):
    t = e["t"]
    props = {"id": e["id"], "category": e["category"], "correlationId": e["corr"], "result": e["result"], "resultReason": e["reason"],
             "activityDisplayName": e["activity"], "activityDateTime": iso(t), "loggedByService": e["service"], "operationType": e["optype"],
             "userAgent": next((d["value"] for d in e["details"] if d["key"] == "User-Agent"), None),
             "initiatedBy": initiated_by(e["actor"], e["ip"]), "targetResources": clean_targets(e["targets"]), "additionalDetails": e["details"]}
    return {"time": iso(t), "resourceId": RESOURCE_ID, "operationName": e["activity"], "operationVersion": "1.0", "category": "AuditLogs",
            "tenantId": TENANT_ID, "resultSignature": "None", "durationMs": 0, "callerIpAddress": e["ip"] if e["ip"] else None,
            "correlationId": e["corr"], "identity": identity_str(e["actor"]), "Level": 4, "properties": props}

def render_b(e):
    t = e["t"]; ingest = t + timedelta(seconds=R.randint(40, 600))
    return {"TenantId": LA_WORKSPACE, "SourceSystem": "Azure AD", "TimeGenerated": iso(t), "ResourceId": RESOURCE_ID, "OperationName": e["activity"],
            "OperationVersion": "1.0", "Category": e["category"], "ResultType": "", "ResultSignature": "None", "ResultDescription": e["reason"],
            "DurationMs": 0, "CorrelationId": e["corr"], "Resource": "Microsoft.aadiam", "ResourceGroup": "Microsoft.aadiam", "ResourceProvider": "Microsoft.aadiam",
            "Identity": identity_str(e["actor"]) or "", "Level": "4", "Location": "EU",
            "AdditionalDetails": json.dumps(e["details"]), "Id": e["id"], "InitiatedBy": json.dumps(initiated_by(e["actor"], e["ip"])),
            "LoggedByService": e["service"], "Result": e["result"], "ResultReason": e["reason"], "TargetResources": json.dumps(clean_targets(e["targets"])),
            "AADTenantId": TENANT_ID, "ActivityDisplayName": e["activity"], "ActivityDateTime": iso(t), "AADOperationType": e["optype"],
            "_ItemId": gid(), "_TimeReceived": iso(ingest), "Type": "AuditLogs"}

USER_TYPE = {"user": 0, "app": 5, "system": 4}

def render_c_aad(e):
    t = e["t"]; a = e["actor"]
    if a["kind"] == "app":
        actor = [{"ID": a["name"], "Type": 1}, {"ID": "ServicePrincipal_%s" % a["spid"], "Type": 2}, {"ID": a["spid"], "Type": 2},
                 {"ID": "ServicePrincipal", "Type": 2}, {"ID": a["appId"], "Type": 2}]
        uid = "ServicePrincipal_%s" % a["spid"]; ukey = a["spid"]
    else:
        actor = [{"ID": a["upn"], "Type": 5}, {"ID": "User_%s" % a["id"], "Type": 2}, {"ID": a["id"], "Type": 2}, {"ID": "User", "Type": 2}]
        uid = a["upn"]; ukey = "10032%011X@%s" % (int(hashlib.md5(a["upn"].encode()).hexdigest()[:10], 16), TENANT_ID)
    targets = []; mods = []
    for tg in e["targets"]:
        ty = tg.get("type") or "Other"
        if tg.get("id"):
            targets += [{"ID": "%s_%s" % (ty, tg["id"]), "Type": 2}, {"ID": tg["id"], "Type": 2}]
        targets.append({"ID": ty, "Type": 2})
        if tg.get("userPrincipalName"):
            targets.append({"ID": tg["userPrincipalName"], "Type": 5})
        elif tg.get("displayName"):
            targets.append({"ID": tg["displayName"], "Type": 1})
        for m in tg.get("modifiedProperties", []):
            mods.append({"Name": m["displayName"], "NewValue": m["newValue"] if m["newValue"] is not None else "", "OldValue": m["oldValue"] if m["oldValue"] is not None else ""})
    first = e["targets"][0] if e["targets"] else {}
    extp = [{"Name": "additionalDetails", "Value": json.dumps({d["key"]: d["value"] for d in e["details"]})},
            {"Name": "extendedAuditEventCategory", "Value": {"UserManagement": "User", "Policy": "Policy", "DirectoryManagement": "Directory", "ApplicationManagement": "Application",
                                                              "RoleManagement": "Role", "GroupManagement": "Group"}.get(e["category"], e["category"])}]
    return {"CreationTime": t.strftime("%Y-%m-%dT%H:%M:%S"), "Id": e["ucid"], "Operation": e["activity"].rstrip() + ".", "OrganizationId": TENANT_ID,
            "RecordType": 8, "ResultStatus": "Success" if e["result"] == "success" else "Failure", "UserKey": ukey, "UserType": USER_TYPE[a["kind"]],
            "Version": 1, "Workload": "AzureActiveDirectory", "ClientIP": e["ip"] or "", "ObjectId": first.get("userPrincipalName") or first.get("id") or first.get("displayName") or "",
            "UserId": uid, "AzureActiveDirectoryEventType": 1, "ExtendedProperties": extp, "ModifiedProperties": mods, "Actor": actor,
            "ActorContextId": TENANT_ID, "ActorIpAddress": e["ip"] or "", "InterSystemsId": e["corr"], "IntraSystemId": e["id"].split("_")[1] if "_" in e["id"] else e["id"],
            "SupportTicketId": "", "Target": targets, "TargetContextId": TENANT_ID}

def render_c_exo(e):
    a = e["actor"]; t = e["t"]
    if a["kind"] == "system":
        uid, ukey, utype, ext = a["upn"], "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)", 3, True
    else:
        uid, ukey, utype, ext = a["upn"], "10032%011X" % int(hashlib.md5(a["upn"].encode()).hexdigest()[:10], 16), 2, False
    rec = {"CreationTime": t.strftime("%Y-%m-%dT%H:%M:%S"), "Id": e["id"], "Operation": e["activity"], "OrganizationId": TENANT_ID, "RecordType": 1,
           "ResultStatus": "True" if e["ok"] else "False", "UserKey": ukey, "UserType": utype, "Version": 1, "Workload": "Exchange",
           "ClientIP": e["ip"] or "", "ObjectId": e["objid"], "UserId": uid, "AppId": "" if a["kind"] == "system" else "fb78d390-0c51-40cd-8e17-fdbfab77341b",
           "ExternalAccess": ext, "OrganizationName": ORG_NAME, "OriginatingServer": R.choice(EXO_SERVERS), "Parameters": e["params"]}
    if a["kind"] != "system":
        rec["SessionId"] = gid()
    return rec

out = []
for e in EVENTS:
    if e["shape"] == "c":
        if e["src"] == "entra":
            e["ucid"] = gid()
            rec = render_c_aad(e); e["record_id"] = rec["Id"]
        else:
            rec = render_c_exo(e); e["record_id"] = rec["Id"]
        lag = timedelta(minutes=R.randint(20, 180))
    elif e["shape"] == "a":
        rec = render_a(e); e["record_id"] = e["id"]; lag = timedelta(minutes=R.randint(2, 15))
    else:
        rec = render_b(e); e["record_id"] = e["id"]; lag = timedelta(minutes=R.randint(2, 15))
    out.append((e["t"] + lag, rec, e))
out.sort(key=lambda x: x[0])

with open(os.path.join(OUTDIR, "admin.ndjson"), "w") as f:
    for _, rec, _ in out:
        f.write(json.dumps(rec, separators=(",", ":")) + "\n")

# ----------------------------------------------------------------------------------------
# Truth
# ----------------------------------------------------------------------------------------
def name_of(e):
    return e["activity"] if e["src"] == "exo" else e["activity"].rstrip()

attack = [{"record_id": e["record_id"], "shape": e["shape"], "time": iso(e["t"]), "activity": name_of(e), "actor": e["actor"]["upn"],
           "ip": e["ip"], "correlationId": e["corr"], "what": e["attack"]} for _, _, e in sorted(out, key=lambda x: x[2]["t"]) if e["attack"]]

LOOKALIKE = {
    "legit per-user MFA disable by identity team (wave-3 migration to Conditional Access, bulk script)": ["legit_per_user_mfa_disable_ca_migration"],
    "legit per-user MFA disable by helpdesk (service accounts moved to CA exclusion)": ["legit_per_user_mfa_disable_service_account"],
    "legit per-user MFA disable by helpdesk (VIP lost phone, re-enabled next day)": ["legit_per_user_mfa_disable_helpdesk_temp"],
    "per-user MFA Enabled->Enforced (StrongAuthenticationRequirement modified)": ["per_user_mfa_enforce"],
    "per-user MFA enable (StrongAuthenticationRequirement modified / Enable Strong Authentication)": ["per_user_mfa_enable"],
    "StrongAuthenticationMethod wiped by helpdesk (require re-register MFA)": ["mfa_method_reset_helpdesk"],
    "CA maintenance disable/re-enable (incl. temporary report-only)": ["ca_maintenance_disable_reenable"],
    "CA break-glass exclusion added": ["ca_breakglass_exclusion_added"],
    "CA pilot exclusion group added": ["ca_pilot_exclusion_group_added"],
    "CA legit user exclusion from enforced MFA policy (ticketed, service account, same day as attack) and its removal": ["ca_legit_user_exclusion_enforced_mfa", "ca_exclusion_removed"],
    "CA old pilot policy deleted": ["ca_delete_old_pilot"],
    "CA changes by policy-as-code service principal": ["ca_pipeline_update"],
    "CA failed update (helpdesk lacks role)": ["ca_failed_update"],
    "planned federation cert renewal (Set federation settings on domain)": ["planned_federation_cert_renewal"],
    "planned migration off AD FS (Set domain authentication Federated->Managed)": ["planned_adfs_to_managed_migration"],
    "legit new domain add + (failed) verification": ["legit_new_domain"],
    "sister tenant MFA trust": ["sister_tenant_mfa_trust"],
    "sister tenant partner added / auto-consent": ["sister_tenant_partner_added", "sister_tenant_auto_consent"],
    "merger inbound sync": ["merger_inbound_identity_sync"],
    "B2B partner added / inbound allowed / MFA trust": ["b2b_partner_added", "b2b_partner_inbound_allowed", "b2b_partner_mfa_trust"],
    "GDAP setup by Partner Customer Delegated Administration (MSP)": ["gdap_setup_msp"],
    "legacy DAP reseller removed (Remove partner from company)": ["legacy_dap_partner_removed"],
    "Set-AdminAuditLogConfig by Exchange SYSTEM": ["exo_system_admin_audit_log_config"],
    "Set-AdminAuditLogConfig UAL re-enabled by admin after alert": ["ual_reenabled_by_admin_after_alert"],
    "Set-Mailbox with AuditEnabled (admin or SYSTEM)": ["exo_set_mailbox_auditenabled"],
    "Add-MailboxPermission FullAccess for shared mailbox delegate": ["exo_fullaccess_shared_mailbox"],
    "New-ManagementRoleAssignment (incl. ApplicationImpersonation for migration tool)": ["exo_new_management_role_assignment"],
    "admin/PCDA Add member to role (non-PIM)": ["admin_role_grant"],
    "PIM activations (Add member to role by MS-PIM)": ["pim_activation"],
    "app secret added (Update application - Certificates and secrets management)": ["app_secret_rotation"],
    "admin consent to application": ["admin_consent"],
    "svc-legacy-test benign earlier target (PasswordPolicies DisablePasswordExpiration)": ["svc_account_password_policy"],
}
lookalike = {}
for cat, tags in LOOKALIKE.items():
    evs = [e for _, _, e in out if e["tag"] in tags]
    if cat.startswith("Set-Mailbox with AuditEnabled"):
        evs += [e for _, _, e in out if e["tag"] == "exo_set_mailbox_system" and any(p["Name"] == "AuditEnabled" for p in e["params"])]
    lookalike[cat] = {"count": len(evs), "record_ids": [e["record_id"] for e in evs]}

counts = {}
for _, rec, e in out:
    k = name_of(e); counts[k] = counts.get(k, 0) + 1
shape_counts = {}
for _, rec, e in out:
    shape_counts[e["shape"]] = shape_counts.get(e["shape"], 0) + 1

truth = {
    "seed": SEED, "tenant": {"tenantId": TENANT_ID, "domain": DOMAIN, "initial_domain": INITIAL, "log_analytics_workspace": LA_WORKSPACE,
                             "window": [iso(START), iso(START + timedelta(days=DAYS))], "users": len(USERS)},
    "attack": {"actor": ATTACKER["upn"], "actor_object_id": ATTACKER["id"], "attacker_tenant_id": evil["tid"], "malicious_domain": EVIL,
               "source_ips": PROXY_IPS, "records": attack, "record_count": len(attack),
               "notes": ["svc-legacy-test holds no admin role in any record of this window; its privileges are assumed to come from a stale role-assignable group (not logged in the window).",
                         "After Set-AdminAuditLogConfig -UnifiedAuditLogIngestionEnabled $false the unified audit log stops: no shape-c records exist between %s and %s; Exchange admin activity in that gap is absent from all shapes; Entra activity still arrives via Azure Monitor (shapes a/b)." % (iso(UAL_OFF), iso(UAL_ON)),
                         "Per-user MFA victims: %s" % ", ".join(v["upn"] for v in victims)]},
    "ual_gap": [iso(UAL_OFF), iso(UAL_ON)],
    "benign_lookalikes": lookalike,
    "record_counts_by_activity": dict(sorted(counts.items(), key=lambda kv: -kv[1])),
    "record_counts_by_shape": shape_counts,
    "record_counts_by_scenario_tag": dict(sorted(__import__("collections").Counter(e["tag"] or "ATTACK" for _, _, e in out).items(), key=lambda kv: -kv[1])),
    "total_records": len(out),
    "id_field_by_shape": {"a": "properties.id", "b": "Id", "c": "Id"},
}
with open(os.path.join(OUTDIR, "truth.json"), "w") as f:
    json.dump(truth, f, indent=1)
print("records=%d shapes=%s attack=%d" % (len(out), shape_counts, len(attack)))
