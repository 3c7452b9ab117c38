"""Tables behind the synthetic hospital cohorts: roles, units, shift patterns, names, goals."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# === Tables =====================================================================================
# Shares and weights are plausible figures for a US academic health system, not measured data.

ROLE_SHARES = {"attending": 0.25, "resident": 0.22, "fellow": 0.06, "student": 0.08,
               "nurse": 0.27, "np_pa": 0.09, "other": 0.03}
_SENIORITY = {"student": 0, "resident": 1, "fellow": 2, "nurse": 2, "other": 2, "np_pa": 3,
              "attending": 4}
_NIGHT_WEIGHT = {"nurse": 6.0, "resident": 3.0, "np_pa": 1.5, "other": 1.5, "fellow": 1.0,
                 "attending": 0.3, "student": 0.05}
#: Probabilities of mentoring = offer, seek, both, none.
_MENTORING_P = {"attending": (0.45, 0.03, 0.37, 0.15), "np_pa": (0.30, 0.15, 0.35, 0.20),
                "nurse": (0.20, 0.25, 0.30, 0.25), "other": (0.20, 0.20, 0.30, 0.30),
                "fellow": (0.10, 0.45, 0.35, 0.10), "resident": (0.03, 0.65, 0.20, 0.12),
                "student": (0.00, 0.80, 0.05, 0.15)}
#: Probabilities of 0, 1, 2, 3 skills offered / wanted.
_TEACH_COUNT_P = {"attending": (0.15, 0.30, 0.35, 0.20), "np_pa": (0.25, 0.35, 0.25, 0.15),
                  "nurse": (0.30, 0.35, 0.20, 0.15), "other": (0.30, 0.35, 0.25, 0.10),
                  "fellow": (0.30, 0.40, 0.20, 0.10), "resident": (0.45, 0.35, 0.15, 0.05),
                  "student": (0.80, 0.15, 0.05, 0.00)}
_LEARN_COUNT_P = {"attending": (0.30, 0.35, 0.25, 0.10), "np_pa": (0.20, 0.35, 0.30, 0.15),
                  "nurse": (0.20, 0.35, 0.30, 0.15), "other": (0.25, 0.35, 0.25, 0.15),
                  "fellow": (0.10, 0.30, 0.35, 0.25), "resident": (0.05, 0.30, 0.40, 0.25),
                  "student": (0.05, 0.25, 0.40, 0.30)}

_SITE_TABLE = (("Main Campus", "hospital", 6.0), ("North Hospital", "hospital", 3.0),
               ("Riverside Clinic", "clinic", 1.5),
               ("Lakeview Community Hospital", "hospital", 2.0),
               ("West Outpatient Center", "clinic", 1.0),
               ("Harbor Rehabilitation Hospital", "hospital", 0.7))
SITES: tuple[str, ...] = tuple(name for name, _, _ in _SITE_TABLE)
_US_TIMEZONES = {"America/New_York": 0.80, "America/Chicago": 0.09, "America/Denver": 0.04,
                 "America/Los_Angeles": 0.07}
_EUROPE_TIMEZONES = {"Europe/London": 0.6, "Europe/Berlin": 0.4}
_EUROPE_SHARE = 0.08  # of attendings and fellows, i.e. about 2.5% of a cohort
_EUROPE_SHARE = 0.08  # of attendings and fellows, i.e. about 2.5% of a cohort


class _Unit(NamedTuple):
    specialty: str
    department: str
    family: str  # drives interest affinity
    inpatient: bool  # inpatient units only exist at hospital sites
    pattern: str  # default availability pattern


_MED, _SUR = "Department of Medicine", "Department of Surgery"
_EMD = "Department of Emergency Medicine"
_PED, _OBG = "Department of Pediatrics", "Department of Obstetrics & Gynecology"
_ANE, _RAD = "Department of Anesthesiology", "Department of Radiology"
_PSY, _NEU = "Department of Psychiatry", "Department of Neurology"
_FAM = "Department of Family Medicine"
_ONC, _CCM = "Cancer Center", "Department of Critical Care Medicine"
#: Physicians: specialty, department, family, inpatient, attending pattern, then weights for
#: attendings, residents, fellows and students (students take the department of their clerkship).
_PHYSICIANS = (
    ("Internal Medicine", _MED, "medicine", 0, "day", 10, 22, 0, 20),
    ("Hospital Medicine", _MED, "medicine", 1, "shift", 9, 0, 0, 0),
    ("Cardiology", _MED, "medicine", 0, "day", 5, 0, 12, 0),
    ("Gastroenterology", _MED, "medicine", 0, "day", 2.5, 0, 7, 0),
    ("Pulmonary & Critical Care", _MED, "critical", 1, "day", 3, 0, 9, 0),
    ("Nephrology", _MED, "medicine", 0, "day", 1.5, 0, 4, 0),
    ("Infectious Diseases", _MED, "medicine", 0, "day", 1.5, 0, 4, 0),
    ("Endocrinology", _MED, "medicine", 0, "clinic", 1.5, 0, 3, 0),
    ("Geriatrics", _MED, "medicine", 0, "clinic", 1, 0, 2, 0),
    ("Palliative Care", _MED, "oncology", 0, "day", 1, 0, 3, 0),
    ("Hematology & Oncology", _ONC, "oncology", 0, "day", 3, 0, 8, 0),
    ("Radiation Oncology", _ONC, "oncology", 0, "day", 1, 2, 0, 0),
    ("General Surgery", _SUR, "surgery", 1, "day", 5, 8, 0, 12),
    ("Orthopaedic Surgery", _SUR, "surgery", 0, "day", 3.5, 4, 2, 0),
    ("Vascular Surgery", _SUR, "surgery", 1, "day", 1, 0, 1.5, 0),
    ("Cardiothoracic Surgery", _SUR, "surgery", 1, "day", 1, 0, 1, 0),
    ("Neurosurgery", _SUR, "surgery", 1, "day", 1, 2, 0, 0),
    ("Urology", _SUR, "surgery", 0, "day", 1, 1.5, 0, 0),
    ("Otolaryngology", _SUR, "surgery", 0, "day", 1, 1.5, 0, 0),
    ("Emergency Medicine", _EMD, "emergency", 1, "shift", 7, 8, 0, 4),
    ("Pediatrics", _PED, "pediatrics", 0, "clinic", 5, 8, 0, 10),
    ("Neonatology", _PED, "pediatrics", 1, "shift", 1.5, 0, 4, 0),
    ("Pediatric Emergency Medicine", _PED, "emergency", 1, "shift", 1, 0, 3, 0),
    ("Obstetrics & Gynecology", _OBG, "obgyn", 0, "day", 4, 6, 0, 9),
    ("Maternal-Fetal Medicine", _OBG, "obgyn", 1, "day", 1, 0, 2, 0),
    ("Anesthesiology", _ANE, "anesthesia", 1, "day", 6, 6, 0, 0),
    ("Pain Medicine", _ANE, "anesthesia", 0, "clinic", 0.8, 0, 2, 0),
    ("Radiology", _RAD, "radiology", 0, "day", 4, 4, 0, 0),
    ("Interventional Radiology", _RAD, "radiology", 1, "day", 1, 0, 2, 0),
    ("Psychiatry", _PSY, "psychiatry", 0, "clinic", 4, 5, 0, 7),
    ("Child & Adolescent Psychiatry", _PSY, "psychiatry", 0, "clinic", 1, 0, 2.5, 0),
    ("Neurology", _NEU, "neurology", 0, "day", 3, 4, 0, 4),
    ("Family Medicine", _FAM, "primary", 0, "clinic", 6, 6, 0, 8),
    ("Sports Medicine", _FAM, "primary", 0, "clinic", 0.8, 0, 2, 0),
    ("Critical Care Medicine", _CCM, "critical", 1, "shift", 2.5, 0, 4, 0),
    ("Pathology", "Department of Pathology", "pathology", 1, "day", 2, 2.5, 0, 0),
    ("Dermatology", "Department of Dermatology", "primary", 0, "clinic", 1.2, 1.5, 0, 0),
    ("Ophthalmology", "Department of Ophthalmology", "surgery", 0, "clinic", 1, 1.5, 0, 0),
    ("Physical Medicine & Rehabilitation", "Department of Physical Medicine & Rehabilitation",
     "rehab", 0, "day", 0.8, 1.2, 0, 0),
    ("Preclinical", "School of Medicine", "school", 0, "day", 0, 0, 0, 15),
)
#: Nurses: unit (department), specialty, family, inpatient, pattern, weight.
_NURSES = (
    ("4 West Med-Surg", "Medical-Surgical Nursing", "medicine", 1, "nurse12", 8),
    ("5 East Med-Surg", "Medical-Surgical Nursing", "surgery", 1, "nurse12", 6),
    ("6 North Telemetry", "Cardiac Nursing", "medicine", 1, "nurse12", 5),
    ("Cardiac ICU", "Critical Care Nursing", "critical", 1, "nurse12", 4),
    ("Medical ICU", "Critical Care Nursing", "critical", 1, "nurse12", 4),
    ("Surgical ICU", "Critical Care Nursing", "critical", 1, "nurse12", 3),
    ("Emergency Department", "Emergency Nursing", "emergency", 1, "nurse12", 8),
    ("Labor & Delivery", "Obstetric Nursing", "obgyn", 1, "nurse12", 4),
    ("Mother-Baby Unit", "Perinatal Nursing", "obgyn", 1, "nurse12", 2.5),
    ("NICU", "Neonatal Nursing", "pediatrics", 1, "nurse12", 3),
    ("7 South Pediatrics", "Pediatric Nursing", "pediatrics", 1, "nurse12", 2.5),
    ("8 West Oncology", "Oncology Nursing", "oncology", 1, "nurse12", 3),
    ("Behavioral Health Unit", "Psychiatric Nursing", "psychiatry", 1, "nurse12", 2),
    ("Float Pool", "Float Pool Nursing", "medicine", 1, "nurse12", 2),
    ("Inpatient Rehabilitation", "Rehabilitation Nursing", "rehab", 1, "nurse12", 1),
    ("Perioperative Services", "Perioperative Nursing", "surgery", 1, "day", 5),
    ("PACU", "Perianesthesia Nursing", "anesthesia", 1, "day", 2),
    ("Cath Lab", "Cardiovascular Nursing", "medicine", 1, "day_only", 1.2),
    ("Dialysis Unit", "Nephrology Nursing", "medicine", 0, "day_only", 1),
    ("Infusion Center", "Oncology Nursing", "oncology", 0, "day_only", 2),
    ("Ambulatory Clinics", "Ambulatory Care Nursing", "primary", 0, "clinic", 5),
    ("Clinical Nursing Education", "Nurse Educator", "nursing_ops", 0, "day_only", 1),
    ("Patient Care Services", "Nurse Manager", "nursing_ops", 1, "day_only", 1.2),
)
#: NPs/PAs and other professions: specialty, department, family, inpatient, pattern, weight.
_NP_PA = (
    ("Hospital Medicine NP", _MED, "medicine", 1, "shift", 4),
    ("Cardiology NP", _MED, "medicine", 0, "day", 2),
    ("Emergency Medicine PA", _EMD, "emergency", 1, "shift", 3),
    ("Orthopaedic PA", _SUR, "surgery", 0, "day", 2.5),
    ("General Surgery PA", _SUR, "surgery", 1, "day", 2),
    ("Oncology NP", _ONC, "oncology", 0, "clinic", 2),
    ("Family Nurse Practitioner", _FAM, "primary", 0, "clinic", 3),
    ("Neonatal NP", _PED, "pediatrics", 1, "shift", 1.2),
    ("Psychiatric NP", _PSY, "psychiatry", 0, "clinic", 1.5),
    ("Nurse Anesthetist (CRNA)", _ANE, "anesthesia", 1, "day", 3),
    ("Critical Care NP", _CCM, "critical", 1, "shift", 1.5),
    ("Women's Health NP", _OBG, "obgyn", 0, "clinic", 1),
    ("Dermatology PA", "Department of Dermatology", "primary", 0, "clinic", 0.8),
)
_OTHER = (
    ("Pharmacy", "Department of Pharmacy", "allied", 0, "day", 4),
    ("Physical Therapy", "Rehabilitation Services", "rehab", 0, "day_only", 3),
    ("Occupational Therapy", "Rehabilitation Services", "rehab", 0, "day_only", 2),
    ("Speech-Language Pathology", "Rehabilitation Services", "rehab", 0, "day_only", 1),
    ("Respiratory Therapy", "Respiratory Care", "critical", 1, "nurse12", 2.5),
    ("Social Work", "Care Management", "allied", 0, "day_only", 2),
    ("Case Management", "Care Management", "allied", 0, "day_only", 1.5),
    ("Clinical Nutrition", "Clinical Nutrition", "allied", 0, "day_only", 1),
    ("Chaplaincy", "Spiritual Care", "allied", 1, "day", 0.7),
)


def _build_units() -> tuple[list[_Unit], dict[str, tuple[list[int], list[float]]]]:
    units: list[_Unit] = []
    by_role: dict[str, tuple[list[int], list[float]]] = {r: ([], []) for r in ROLE_SHARES}

    def add(role: str, unit: _Unit, weight: float) -> None:
        if weight > 0:
            by_role[role][0].append(len(units))
            by_role[role][1].append(weight)
            units.append(unit)

    for spec, dept, fam, inp, pattern, *weights in _PHYSICIANS:
        trainee = "shift" if fam == "emergency" else "resident"
        for role, w, pat in zip(("attending", "resident", "fellow", "student"), weights,
                                (pattern, trainee, trainee, "student"), strict=True):
            add(role, _Unit(spec, dept, fam, bool(inp), pat), w)
    for dept, spec, fam, inp, pattern, w in _NURSES:
        add("nurse", _Unit(spec, dept, fam, bool(inp), pattern), w)
    for role, table in (("np_pa", _NP_PA), ("other", _OTHER)):
        for spec, dept, fam, inp, pattern, w in table:
            add(role, _Unit(spec, dept, fam, bool(inp), pattern), w)
    return units, by_role


_UNITS, _UNITS_BY_ROLE = _build_units()

# --- availability patterns (local time; "wk" Mon-Fri, "we" Sat-Sun) -----------------------------
# anchor: for people on three shifts a week, "work" = during a shift day, "after" = the morning
# after a (night) shift, "off" = a day off, "any" = either.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEK = 7 * 1440
_DAY_SETS = {"wk": range(5), "we": range(5, 7), "all": range(7)}
_WEEKDAY_WEIGHT = (0.9, 1.0, 1.1, 1.0, 0.8)
_DAYTIME = (0.2, 0.35, 0.28, 0.17)
_PATTERNS: dict[str, tuple[bool, tuple[float, ...], tuple[tuple[str, str, float, str], ...]]] = {
    "day": (False, _DAYTIME, (
        ("wk", "12:00-13:00", 14, "any"), ("wk", "12:00-12:30", 5, "any"),
        ("wk", "12:30-13:30", 3, "any"), ("wk", "07:00-08:00", 5, "any"),
        ("wk", "07:00-07:30", 4, "any"), ("wk", "07:30-08:00", 2, "any"),
        ("wk", "08:00-08:30", 2, "any"), ("wk", "13:00-13:30", 2, "any"),
        ("wk", "15:00-16:00", 1.5, "any"), ("wk", "16:30-17:30", 3, "any"),
        ("wk", "17:00-18:00", 5, "any"), ("wk", "18:00-19:00", 1, "any"),
        ("we", "10:00-11:00", 0.6, "any"))),
    "clinic": (False, _DAYTIME, (
        ("wk", "16:30-17:30", 8, "any"), ("wk", "17:00-18:00", 8, "any"),
        ("wk", "17:30-18:30", 3, "any"), ("wk", "12:00-12:30", 6, "any"),
        ("wk", "12:00-13:00", 5, "any"), ("wk", "07:00-08:00", 3, "any"),
        ("wk", "07:15-08:00", 2, "any"), ("wk", "13:00-13:30", 1.5, "any"),
        ("we", "09:00-10:00", 0.5, "any"))),
    "resident": (False, _DAYTIME, (
        ("wk", "06:30-07:00", 3, "any"), ("wk", "07:00-07:30", 5, "any"),
        ("wk", "07:00-08:00", 3, "any"), ("wk", "12:00-13:00", 8, "any"),
        ("wk", "12:00-12:30", 5, "any"), ("wk", "17:00-18:00", 2, "any"),
        ("wk", "18:00-19:00", 5, "any"), ("wk", "19:00-20:00", 3, "any"),
        ("wk", "20:00-21:00", 2, "any"), ("we", "09:00-10:00", 2, "any"),
        ("we", "10:00-11:00", 3, "any"), ("we", "16:00-17:00", 1.5, "any"))),
    "student": (False, _DAYTIME, (
        ("wk", "12:00-13:00", 8, "any"), ("wk", "12:30-13:00", 3, "any"),
        ("wk", "17:00-18:00", 6, "any"), ("wk", "17:30-18:30", 3, "any"),
        ("wk", "18:00-19:00", 4, "any"), ("wk", "19:00-20:00", 2, "any"),
        ("wk", "07:00-07:30", 1.5, "any"), ("we", "10:00-11:00", 2, "any"),
        ("we", "14:00-15:00", 1.5, "any"))),
    "shift": (True, _DAYTIME, (
        ("all", "07:00-08:00", 4, "off"), ("all", "10:00-11:00", 3, "off"),
        ("all", "12:00-13:00", 5, "off"), ("all", "14:00-15:00", 3, "off"),
        ("all", "16:00-17:00", 3, "off"), ("all", "17:00-18:00", 4, "any"),
        ("all", "20:00-21:00", 2, "any"))),
    "nurse12": (True, (0.15, 0.30, 0.30, 0.25), (
        ("all", "07:30-08:30", 1.5, "off"), ("all", "09:00-10:00", 3, "off"),
        ("all", "10:00-11:00", 5, "off"), ("all", "11:00-12:00", 3, "off"),
        ("all", "12:00-13:00", 9, "off"), ("all", "13:00-14:00", 3, "off"),
        ("all", "14:00-15:00", 4, "off"), ("all", "15:00-16:00", 2, "off"),
        ("all", "17:00-18:00", 6, "off"), ("all", "19:00-20:00", 3, "off"),
        ("all", "20:00-21:00", 2, "off"), ("all", "19:30-20:30", 1.5, "work"))),
    "night": (True, (0.15, 0.30, 0.30, 0.25), (
        ("all", "23:00-00:00", 3, "work"), ("all", "23:00-01:00", 2, "work"),
        ("all", "22:30-23:30", 2, "work"), ("all", "17:30-18:30", 2, "work"),
        ("all", "07:30-08:30", 4, "after"), ("all", "07:30-08:00", 2, "after"),
        ("all", "12:00-13:00", 1, "off"), ("all", "16:00-17:00", 2, "off"),
        ("all", "19:00-20:00", 2, "off"), ("all", "20:00-21:00", 2, "off"),
        ("all", "21:00-22:00", 1.5, "off"))),
    "remote": (False, _DAYTIME, (
        ("wk", "12:00-13:00", 3, "any"), ("wk", "13:00-14:00", 3, "any"),
        ("wk", "16:00-17:00", 4, "any"), ("wk", "17:00-18:00", 6, "any"),
        ("wk", "17:30-18:30", 4, "any"), ("wk", "18:00-19:00", 4, "any"),
        ("wk", "08:00-09:00", 1, "any"))),
}

# --- names (weight, family name first?, given names, family names, middle names) ----------------
_NameGroup = tuple[float, bool, tuple[str, ...], tuple[str, ...], tuple[str, ...]]
_NAME_GROUPS: tuple[_NameGroup, ...] = tuple(
    (w, ff, tuple(a.split(",")), tuple(b.split(",")), tuple(c.split(",")))
    for w, ff, a, b, c in (
        (0.25, False, "James,Mary,Michael,Jennifer,David,Sarah,Emily,Daniel,Jessica,Matthew,Ashley,"
         "Christopher,Lauren,Andrew,Megan,Ryan,Rachel,Kevin,Nicole,Brian,Katherine,Tyler,Hannah,"
         "Ethan,Olivia,Grace,Benjamin,Abigail,Nathan,Caroline,Zoë,Chloé,Renée,Elizabeth,Robert,"
         "Laura,Samuel,Claire,Jacob,Madison,Patrick,Allison,Gregory,Heather,Scott,Molly,Adam,"
         "Kelsey,Timothy,Erin,Jonathan,Amanda,Zachary,Natalie,Peter,Leah,Owen",
         "Smith,Johnson,Williams,Brown,Jones,Miller,Davis,Wilson,Anderson,Taylor,Thomas,Moore,"
         "Martin,Thompson,White,Harris,Clark,Lewis,Walker,Hall,Allen,Young,King,Wright,Scott,Green,"
         "Baker,Adams,Campbell,Parker,Evans,Collins,Cooper,Reed,Bailey,Ward,Foster,Hughes,Bennett,"
         "Carter,Turner,Phillips,Stewart,Morris,Rogers,Morgan,Bell,Murray,Price,Bishop,Russell,"
         "Fletcher,Hayes,Sullivan,Palmer,Chapman,Webb,Barrett,Fox,Graham,Sutton", ""),
        (0.07, False, "Jamal,Aaliyah,Imani,Darnell,Keisha,Malik,Jasmine,Andre,Tamika,Marcus,"
         "Brianna,Terrence,Ebony,Cedric,Kiara,Dominique",
         "Washington,Jackson,Robinson,Coleman,Brooks,Jefferson,Banks,Freeman,Gaines,Holloway,"
         "Mitchell,Simmons", ""),
        (0.04, False, "Siobhán,Aoife,Niamh,Ciarán,Seán,Máire,Declan,Orla,Eoin,Caoimhe,Pádraig",
         "O'Brien,O'Sullivan,Byrne,Doyle,Walsh,McCarthy,Gallagher,Quinn,Brennan,Ó Néill", ""),
        (0.12, False, "José,María,Alejandro,Sofía,Lucía,Andrés,Camila,Javier,Valentina,Diego,"
         "Mariana,Carlos,Ana,Luis,Gabriela,Miguel,Daniela,Jorge,Paola,Raúl,Inés,Fernando,Adriana,"
         "Ricardo,Verónica,Eduardo,Natalia,Héctor,Mónica,Rafael,Ximena,Tomás,Catalina",
         "Núñez,García,Rodríguez,Martínez,Hernández,López,González,Pérez,Sánchez,Ramírez,Torres,"
         "Flores,Rivera,Gómez,Díaz,Morales,Ortiz,Castillo,Jiménez,Vargas,Peña,Ruiz,De la Cruz", ""),
        (0.10, False, "Priya,Arjun,Ananya,Rahul,Deepa,Vikram,Aisha,Sanjay,Kavya,Rohan,Neha,Aditya,"
         "Meera,Karthik,Lakshmi,Imran,Farah,Nikhil,Anjali,Ravi,Shreya,Suresh,Pooja,Arun,Divya,"
         "Harpreet,Ishaan,Sunita,Varun,Nandini",
         "Patel,Shah,Sharma,Gupta,Reddy,Iyer,Nair,Singh,Kumar,Desai,Chowdhury,Rao,Menon,Khan,"
         "Mehta,Bhattacharya,Joshi,Pillai,Banerjee,Kapoor,Malhotra,Agarwal,Krishnan,Bose,"
         "Chatterjee,Dutta,Verma,Gill", ""),
        (0.06, False, "Wei,Jing,Yan,Hao,Mei,Jun,Ying,Lei,Xin,Yu,Qing,Tao,Xiaoling,Zhiwei",
         "Wang,Li,Zhang,Liu,Chen,Yang,Huang,Zhao,Wu,Zhou,Xu,Sun,Lin,Guo", ""),
        (0.03, False, "Ji-woo,Min-jun,Seo-yeon,Hyun-woo,Soo-jin,Jae-hyun,Eun-ji,Dong-hyun",
         "Kim,Lee,Park,Choi,Jung,Kang,Cho,Yoon", ""),
        (0.03, True, "Mai,Lan,Linh,Hương,Anh,Minh,Tuấn,Dũng,Thảo,Khoa,Trang,Phương",
         "Nguyễn,Trần,Lê,Phạm,Hoàng,Phan,Vũ,Đặng,Bùi,Đỗ", "Thị,Văn,Ngọc,Đức,Minh,Thanh"),
        (0.05, False, "Maricel,Jericho,Angelica,Rhea,Paolo,Kristine,Rodel,Joy,Mark,Cherry,Liezl,"
         "Ramon", "Santos,Reyes,Cruz,Bautista,Ocampo,Mendoza,Villanueva,Aquino,Ramos,Dela Cruz,"
         "Soriano,Tolentino,Pascual,Manalo", ""),
        (0.05, False, "Chiamaka,Oluwaseun,Adaeze,Kwame,Ngozi,Tunde,Amara,Kofi,Folake,Emeka,Abena,"
         "Chidi,Yaw,Efua", "Okafor,Adeyemi,Mensah,Okonkwo,Boateng,Nwosu,Adebayo,Owusu,Eze,"
         "Asante,Balogun,Ogunleye", ""),
        (0.04, False, "Omar,Layla,Yusuf,Fatima,Karim,Nour,Hassan,Rania,Samir,Amira,Tariq,Leila,"
         "Zainab,Ahmad", "Haddad,Khalil,Mansour,Saleh,Nasser,Farah,Hussein,Aziz,Darwish,Rahman,"
         "Al-Amin,Khoury", ""),
        (0.06, False, "Søren,Björn,François,Hélène,Jürgen,Ingrid,Matteo,Giulia,Łukasz,Małgorzata,"
         "Anja,Émilie,Mathilde,Dmitri,Olga,Katarzyna,Niklas,Lena,Aurélie,Noémie,Joël,Zoë",
         "Müller,Schmidt,Dubois,Lefèvre,Rossi,Bianchi,Kowalski,Nowak,Johansson,Larsen,Andersson,"
         "Novák,Ivanova,Petrov,Fischer,Weber,Moreau,Ferrari,Esposito,Jørgensen,Dvořák,Horváth",
         ""),
        (0.02, False, "Haruka,Kenji,Yuki,Takeshi,Aiko,Hiroshi,Sakura,Daisuke",
         "Tanaka,Suzuki,Sato,Takahashi,Watanabe,Yamamoto,Nakamura,Kobayashi", ""),
        (0.03, False, "Noa,Eitan,Tamar,Avi,Yael,Maya,Ari,Shira,Gideon",
         "Cohen,Levi,Friedman,Goldberg,Katz,Rosen,Shapiro,Weiss", ""),
        (0.03, False, "Darius,Shirin,Reza,Parisa,Navid,Leyla,Emre,Elif,Zeynep,Ayşe,Mehmet,Cem",
         "Ahmadi,Hosseini,Karimi,Tehrani,Yılmaz,Kaya,Demir,Şahin,Öztürk,Çelik", ""),
    ))
_INITIALS = "ABCDEFGHIJKLMNOPRSTVW"
_NAME_GROUP_P = np.array([g[0] for g in _NAME_GROUPS]) / sum(g[0] for g in _NAME_GROUPS)
_EMAIL_FOLD = str.maketrans({"đ": "d", "ø": "o", "ł": "l", "ß": "ss", "æ": "ae", "ı": "i",
                             "'": "", "’": "", " ": ""})

# --- interests: ordered by popularity (Zipf-like weights 1/(rank+1)^0.9) ------------------------
INTEREST_VOCABULARY: tuple[str, ...] = (
    "wellness", "medical education", "quality improvement", "cooking", "travel", "hiking",
    "running", "reading", "music", "parenting", "leadership", "patient safety",
    "burnout prevention", "mentorship", "clinical research", "health equity", "coffee",
    "photography", "teaching residents", "interprofessional teamwork", "yoga",
    "point-of-care ultrasound", "global health", "dogs", "writing", "palliative care",
    "board games", "EMR efficiency", "gardening", "podcasts", "cycling", "informatics", "ethics",
    "simulation", "AI in medicine", "baking", "advocacy", "women in medicine",
    "career transitions", "nursing leadership", "evidence-based practice", "film",
    "mental health", "public health", "art", "languages", "volunteering",
    "diversity and inclusion", "nursing education", "meditation", "telehealth",
    "patient experience", "narrative medicine", "medical humanities", "soccer", "grant writing",
    "climbing", "LGBTQ+ health", "health policy", "first-generation professionals",
    "rural health", "entrepreneurship", "sustainability in healthcare",
)
_INTEREST_INDEX = {phrase: k for k, phrase in enumerate(INTEREST_VOCABULARY)}
_HOBBIES = frozenset({
    "cooking", "travel", "hiking", "running", "reading", "music", "parenting", "coffee",
    "photography", "yoga", "dogs", "writing", "board games", "gardening", "podcasts", "cycling",
    "baking", "film", "art", "languages", "volunteering", "meditation", "soccer", "climbing"})
_FAMILY_INTERESTS: dict[str, dict[str, float]] = {
    "medicine": {"quality improvement": 1.5, "clinical research": 1.5, "informatics": 1.5,
                 "medical education": 1.3},
    "critical": {"point-of-care ultrasound": 4, "palliative care": 2, "ethics": 2,
                 "simulation": 2},
    "surgery": {"simulation": 3, "patient safety": 2, "leadership": 1.5, "cycling": 1.5},
    "emergency": {"point-of-care ultrasound": 5, "simulation": 3, "global health": 2,
                  "wellness": 1.5},
    "pediatrics": {"parenting": 2, "advocacy": 3, "health equity": 2, "global health": 1.5},
    "obgyn": {"women in medicine": 3, "health equity": 2, "advocacy": 2, "global health": 1.5},
    "anesthesia": {"patient safety": 3, "simulation": 3, "point-of-care ultrasound": 2},
    "radiology": {"AI in medicine": 5, "informatics": 3},
    "psychiatry": {"mental health": 5, "narrative medicine": 2, "medical humanities": 2,
                   "LGBTQ+ health": 2},
    "neurology": {"clinical research": 2, "ethics": 1.5, "AI in medicine": 1.5},
    "oncology": {"palliative care": 4, "clinical research": 3, "grant writing": 2, "ethics": 1.5},
    "primary": {"health equity": 2, "public health": 3, "telehealth": 3, "rural health": 3,
                "EMR efficiency": 2},
    "pathology": {"AI in medicine": 3, "informatics": 2},
    "rehab": {"patient experience": 2, "evidence-based practice": 2, "running": 1.5},
    "allied": {"interprofessional teamwork": 3, "evidence-based practice": 2,
               "patient experience": 2},
    "nursing_ops": {"nursing leadership": 3, "nursing education": 3, "quality improvement": 2},
    "school": {"global health": 1.5, "health equity": 1.5},
}
_ROLE_INTERESTS: dict[str, dict[str, float]] = {
    "attending": {"teaching residents": 3, "leadership": 2, "grant writing": 1.5,
                  "mentorship": 1.5, "nursing leadership": 0.05, "nursing education": 0.1},
    "resident": {"career transitions": 2, "burnout prevention": 1.5, "wellness": 1.5,
                 "medical education": 1.5, "first-generation professionals": 1.5,
                 "nursing leadership": 0.05, "nursing education": 0.1},
    "fellow": {"clinical research": 2, "career transitions": 2.5, "grant writing": 2,
               "nursing leadership": 0.05, "nursing education": 0.1},
    "student": {"career transitions": 3, "global health": 2, "medical education": 2,
                "first-generation professionals": 2, "mentorship": 2, "teaching residents": 0.05,
                "nursing leadership": 0.05, "nursing education": 0.1, "grant writing": 0.2},
    "nurse": {"nursing leadership": 8, "nursing education": 6, "patient safety": 2.5,
              "medical education": 0.5,
              "evidence-based practice": 3, "interprofessional teamwork": 2.5,
              "burnout prevention": 1.5, "teaching residents": 0.1, "grant writing": 0.3},
    "np_pa": {"career transitions": 1.5, "telehealth": 1.5, "EMR efficiency": 1.5,
              "interprofessional teamwork": 1.5, "teaching residents": 0.3},
    "other": {"interprofessional teamwork": 2, "teaching residents": 0.1,
              "nursing leadership": 0.1},
}

# --- skills people can teach or want to learn -----------------------------------------------------
SKILL_VOCABULARY: tuple[str, ...] = (
    "grant writing", "manuscript writing", "statistics", "QI project design", "public speaking",
    "negotiation", "residency applications", "fellowship applications", "Epic smart phrases",
    "EMR shortcuts", "point-of-care ultrasound", "simulation teaching", "bedside teaching",
    "giving feedback", "difficult conversations", "ultrasound-guided IVs",
    "precepting new nurses", "ECG interpretation", "de-escalation", "time management",
    "inbox management", "REDCap", "Python for data analysis", "leading huddles", "wound care",
)
_RARE_FOR_NON_MD = {"residency applications": 0.05, "fellowship applications": 0.05}
_SKILL_BOOSTS: dict[str, dict[str, dict[str, float]]] = {
    "teach": {
        "attending": {"grant writing": 3, "manuscript writing": 3, "residency applications": 3,
                      "fellowship applications": 2, "bedside teaching": 3, "giving feedback": 2.5,
                      "difficult conversations": 2.5, "negotiation": 2, "public speaking": 2,
                      "QI project design": 2, "ultrasound-guided IVs": 0.3,
                      "precepting new nurses": 0.1, "wound care": 0.2},
        "resident": {"Epic smart phrases": 4, "EMR shortcuts": 3, "residency applications": 4,
                     "ECG interpretation": 2, "bedside teaching": 1.5, "grant writing": 0.2,
                     "negotiation": 0.2, "precepting new nurses": 0.05},
        "fellow": {"statistics": 3, "REDCap": 3, "manuscript writing": 2,
                   "point-of-care ultrasound": 2, "fellowship applications": 2,
                   "Python for data analysis": 2, "precepting new nurses": 0.05},
        "student": {"Python for data analysis": 3, "statistics": 2, "REDCap": 1.5,
                    "grant writing": 0.1, "negotiation": 0.1, "precepting new nurses": 0.02,
                    "bedside teaching": 0.2, **_RARE_FOR_NON_MD},
        "nurse": {"precepting new nurses": 5, "ultrasound-guided IVs": 3, "de-escalation": 3,
                  "wound care": 3, "leading huddles": 3, "time management": 2,
                  "ECG interpretation": 1.5, "grant writing": 0.1, "manuscript writing": 0.3,
                  **_RARE_FOR_NON_MD},
        "np_pa": {"point-of-care ultrasound": 1.5, "EMR shortcuts": 2, "Epic smart phrases": 2.5,
                  "inbox management": 2.5, "time management": 2, **_RARE_FOR_NON_MD},
        "other": {"de-escalation": 1.5, "public speaking": 1.5, "statistics": 1.5,
                  "time management": 2, "wound care": 1.5, "ultrasound-guided IVs": 0.2,
                  **_RARE_FOR_NON_MD},
    },
    "learn": {
        "attending": {"negotiation": 3, "public speaking": 2, "Python for data analysis": 2,
                      "statistics": 2, "grant writing": 2, "inbox management": 3,
                      "EMR shortcuts": 2, "Epic smart phrases": 2, "point-of-care ultrasound": 2,
                      "precepting new nurses": 0.1, **_RARE_FOR_NON_MD},
        "resident": {"fellowship applications": 4, "point-of-care ultrasound": 3,
                     "statistics": 2.5, "manuscript writing": 2.5, "negotiation": 2,
                     "public speaking": 2, "difficult conversations": 2, "QI project design": 2,
                     "residency applications": 0.05, "precepting new nurses": 0.1},
        "fellow": {"grant writing": 4, "negotiation": 4, "manuscript writing": 2.5,
                   "statistics": 2, "public speaking": 2, "residency applications": 0.05,
                   "fellowship applications": 0.1, "precepting new nurses": 0.05},
        "student": {"residency applications": 6, "point-of-care ultrasound": 2.5,
                    "ECG interpretation": 3, "EMR shortcuts": 2, "difficult conversations": 2,
                    "public speaking": 1.5, "fellowship applications": 0.3, "grant writing": 0.3,
                    "precepting new nurses": 0.05, "leading huddles": 0.2},
        "nurse": {"leading huddles": 2.5, "public speaking": 2, "QI project design": 2.5,
                  "ultrasound-guided IVs": 3, "ECG interpretation": 2.5, "de-escalation": 2,
                  "grant writing": 0.5, **_RARE_FOR_NON_MD},
        "np_pa": {"point-of-care ultrasound": 3, "ECG interpretation": 2, "EMR shortcuts": 2,
                  "Epic smart phrases": 2, "negotiation": 2.5, "QI project design": 1.5,
                  **_RARE_FOR_NON_MD},
        "other": {"QI project design": 2, "public speaking": 2, "statistics": 1.5,
                  "negotiation": 1.5, **_RARE_FOR_NON_MD},
    },
}

# --- goals ----------------------------------------------------------------------------------------
_CAREER_NEXT = {
    "student": ("residency applications", "choosing a specialty", "away rotations and letters",
                "the Match"),
    "resident": ("fellowship applications", "the first job search after residency",
                 "choosing between academic and community practice", "chief resident applications"),
    "fellow": ("the first faculty job search", "building a research niche",
               "negotiating a first contract", "balancing research and clinical time"),
    "attending": ("a move into leadership", "promotion", "starting a QI program",
                  "growing an education career"),
    "nurse": ("moving into nursing leadership", "going back to school for an NP degree",
              "a charge nurse role", "a move into nursing education", "a specialty certification"),
    "np_pa": ("a move into a specialty service", "a lead APP role", "precepting students",
              "a doctoral program"),
    "other": ("a move into leadership", "a specialty certification", "a role in clinical research",
              "teaching students"),
}
_MD_WORKFLOW = ("inbox burden", "documentation after hours", "handoffs between shifts",
                "pages during rounds", "pre-charting for clinic", "family meetings",
                "discharge planning")
_WORKFLOW = {"attending": _MD_WORKFLOW, "resident": _MD_WORKFLOW, "fellow": _MD_WORKFLOW,
             "np_pa": _MD_WORKFLOW,
             "student": ("studying on a clinical rotation", "presenting on rounds",
                         "note writing on a busy service"),
             "nurse": ("bedside shift report", "interruptions during med passes",
                       "charting on 12-hour shifts", "floating to new units", "discharge teaching"),
             "other": ("referrals from busy teams", "documentation after hours",
                       "getting consults seen on time")}
_HARD_PART = {"night": "night shifts", "nurse12": "back-to-back 12-hour shifts",
              "resident": "residency", "shift": "rotating shifts", "clinic": "busy clinic days",
              "day": "a busy service week", "student": "clinical rotations",
              "remote": "working across time zones"}
_GOAL_MIX = {"seek": {"seek": 5, "learn": 2, "connect": 2, "well": 1},
             "offer": {"offer": 4.5, "connect": 3.5, "well": 2},
             "both": {"seek": 2.5, "offer": 2.5, "connect": 3, "learn": 2},
             "none": {"connect": 4.5, "well": 3, "learn": 2.5}}
_GOAL_MIX_CUMULATIVE = {
    mentoring: (tuple(mix), tuple(np.cumsum(list(mix.values())) / sum(mix.values())))
    for mentoring, mix in _GOAL_MIX.items()}
_GOAL_TEMPLATES = {
    "seek": ("Find a mentor for {career}.", "Get advice on {career} from people who have done it.",
             "Hear how others approached {career}."),
    "offer": ("Pay forward the mentoring I had by supporting someone earlier in their career.",
              "Share what I have learned about {teach} with anyone who wants it.",
              "Be a friendly senior face for people new to {short}."),
    "learn": ("Learn how others manage {workflow}.", "Pick up practical tips on {learn}.",
              "Find someone who can show me {learn}."),
    "connect": ("Meet colleagues outside {short}.", "Get to know more people at {site}.",
                "Connect with others who care about {interest}.",
                "Build a network across the health system after joining this year.",
                "Meet people from other professions, not just my own."),
    "well": ("Trade ideas on staying well through {hard}.",
             "Have a regular excuse to step away and talk with someone new.",
             "Find people to talk with about {hobby} outside of work."),
}
