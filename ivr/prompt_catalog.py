"""Every prompt the IVR and the dialplan play: key → Persian text (the one place prompts are written)."""

from __future__ import annotations

PROMPTS: dict[str, str] = {
    "welcome_137": "با سامانه ۱۳۷ شهرداری قزوین تماس گرفته‌اید. به شما خوش آمدید.",
    "welcome_1888": "با سامانه ۱۸۸۸ شهرداری قزوین، برای انتقاد، پیشنهاد و قدردانی، تماس گرفته‌اید.",
    "press_1_for_operator": "برای گفتگو با کارشناس، عدد یک را فشار دهید.",
    "connecting_to_operator": "لطفاً منتظر بمانید، تماس شما به کارشناس وصل می‌شود.",
    "invalid_choice": "گزینه انتخاب شده معتبر نیست.",
    "all_lines_busy": "در حال حاضر همه خطوط سامانه مشغول است. لطفاً چند دقیقه دیگر دوباره تماس بگیرید.",
}
