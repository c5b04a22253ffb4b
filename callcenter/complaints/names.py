"""The Persian names of the complaints system's grounds, statuses, actions and channels (pages, SMS, exports)."""

from __future__ import annotations

from db.models import ComplaintAction, ComplaintChannel, ComplaintDesk, ComplaintGround, ComplaintStatus

GROUND_NAMES: dict[ComplaintGround, str] = {
    ComplaintGround.LAW_VIOLATION: "نقض قوانین و مقررات",
    ComplaintGround.DUTY_FAILURE: "انجام ندادن وظیفه",
    ComplaintGround.DELAY: "طولانی شدن رسیدگی (تأخیر)",
    ComplaintGround.NON_RESPONSIVENESS: "پاسخگو نبودن",
    ComplaintGround.WEAK_SERVICE: "ضعف در ارائهٔ خدمت",
    ComplaintGround.PUBLIC_PROPERTY_WASTE: "تخلف اداری: تضییع اموال عمومی",
    ComplaintGround.OTHER_MISCONDUCT: "تخلف اداری: سایر تخلفات",
    ComplaintGround.OTHER: "سایر موارد",
}

STATUS_NAMES: dict[ComplaintStatus, str] = {
    ComplaintStatus.RECEIVED: "دریافت شد",
    ComplaintStatus.UNDER_REVIEW: "در حال بررسی",
    ComplaintStatus.INVESTIGATING: "در حال بازرسی",
    ComplaintStatus.FINDINGS: "یافته‌ها ثبت شد",
    ComplaintStatus.CLOSED: "بسته شد با نتیجه",
    ComplaintStatus.REFERRED: "به مرجع دیگر ارجاع شد",
    ComplaintStatus.REJECTED: "رد شد",
}

ACTION_NAMES: dict[ComplaintAction, str] = {
    ComplaintAction.ASSIGN: "واگذاری به بازرس",
    ComplaintAction.START_REVIEW: "شروع بررسی",
    ComplaintAction.INVESTIGATE: "شروع بازرسی",
    ComplaintAction.RECORD_FINDINGS: "ثبت یافته‌ها",
    ComplaintAction.CLOSE: "بستن با اعلام نتیجه",
    ComplaintAction.REFER: "ارجاع به مرجع دیگر",
    ComplaintAction.REJECT: "رد شکایت",
}

CHANNEL_NAMES: dict[ComplaintChannel, str] = {
    ComplaintChannel.WEB: "درگاه اینترنتی",
    ComplaintChannel.PHONE: "تلفن",
    ComplaintChannel.IN_PERSON: "مراجعهٔ حضوری",
}

DESK_NAMES: dict[ComplaintDesk, str] = {
    ComplaintDesk.INSPECTION: "مدیریت بازرسی",
    ComplaintDesk.MAYOR_OFFICE: "دفتر شهردار",
}
