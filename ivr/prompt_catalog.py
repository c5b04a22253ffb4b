"""Every prompt the IVR and the dialplan play: key → Persian text (the one place prompts are written)."""

from __future__ import annotations

PROMPTS: dict[str, str] = {
    "welcome_137": "با سامانه ۱۳۷ شهرداری قزوین تماس گرفته‌اید. به شما خوش آمدید.",
    "welcome_1888": "با سامانه ۱۸۸۸ شهرداری قزوین، برای انتقاد، پیشنهاد و قدردانی، تماس گرفته‌اید.",
    "menu_137": "برای ثبت درخواست جدید، عدد یک. برای پیگیری درخواست با کد رهگیری، عدد دو. "
                "و برای گفتگو با کارشناس، عدد صفر را فشار دهید.",
    "you_have_open_request": "شما یک درخواست باز دارید با کد رهگیری",
    "press_1_for_status": "برای شنیدن وضعیت آن، عدد یک را فشار دهید.",
    "enter_tracking_code": "لطفاً کد رهگیری را وارد کنید و در پایان، کلید مربع را فشار دهید.",
    "invalid_tracking_code": "کد رهگیری وارد شده نادرست است.",
    "tracking_code_not_found": "درخواستی با این کد رهگیری پیدا نشد.",
    "status_of_request": "وضعیت درخواست با کد رهگیری",
    "status_registered": "ثبت شده و در انتظار ارجاع به واحد مسئول است.",
    "responsible_unit": "واحد مسئول",
    "last_change_on": "آخرین تغییر در تاریخ",
    "status_options": "برای شنیدن دوباره، عدد یک، و برای گفتگو با کارشناس، عدد صفر را فشار دهید.",
    "goodbye": "از تماس شما سپاسگزاریم. خدانگهدار.",
    "connecting_to_operator": "لطفاً منتظر بمانید، تماس شما به کارشناس وصل می‌شود.",
    "invalid_choice": "گزینه انتخاب شده معتبر نیست.",
    "all_lines_busy": "در حال حاضر همه خطوط سامانه مشغول است. لطفاً چند دقیقه دیگر دوباره تماس بگیرید.",
}

# Fragments the IVR strings together where Asterisk's Say* applications have no Persian: numbers, digits,
# Jalali dates, durations (see ivr/speech.py). One short word each so that any sequence sounds even.
_ONES = ("صفر", "یک", "دو", "سه", "چهار", "پنج", "شش", "هفت", "هشت", "نُه",  # نُه: without the vowel espeak says "na"
         "ده", "یازده", "دوازده", "سیزده", "چهارده", "پانزده", "شانزده", "هفده", "هجده", "نوزده")
_TENS = ("بیست", "سی", "چهل", "پنجاه", "شصت", "هفتاد", "هشتاد", "نود")
_HUNDREDS = ("صد", "دویست", "سیصد", "چهارصد", "پانصد", "ششصد", "هفتصد", "هشتصد", "نهصد")
_MONTHS = ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند")

FRAGMENTS: dict[str, str] = {
    **{f"num_{n}": word for n, word in enumerate(_ONES)},
    **{f"num_{10 * n}": word for n, word in enumerate(_TENS, start=2)},
    **{f"num_{100 * n}": word for n, word in enumerate(_HUNDREDS, start=1)},
    "num_thousand": "هزار",
    "num_million": "میلیون",
    "word_and": "و",
    **{f"month_{n}": name for n, name in enumerate(_MONTHS, start=1)},
    "word_day": "روز",
    "word_hour": "ساعت",
    "word_minute": "دقیقه",
    "word_about": "حدود",
    # A lone comma: espeak-ng renders it as about 0.33 s of pure silence (empty text gives an empty file), so the
    # pause between tracking-code groups stays an ordinary text prompt, rendered and overridable like the rest.
    "pause_short": ",",
}

_clash = PROMPTS.keys() & FRAGMENTS.keys()
if _clash:
    raise RuntimeError(f"fragment keys also used by a sentence prompt: {sorted(_clash)}")
PROMPTS.update(FRAGMENTS)
