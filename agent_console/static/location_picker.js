// The report form's optional location (templates/public/_location.html): the hidden latitude/longitude inputs,
// set by the phone's location or, when the page names a tile server, by a tap on a Leaflet map. The partial is
// hidden until this script runs, so without JavaScript nothing of it shows and the form goes by address alone.
import { toPersianDigits } from "./common.js";

// Where the map opens when nothing is chosen yet: the centre of Qazvin.
const CITY_CENTRE = [36.2797, 50.0049];
const CITY_ZOOM = 13;
const CHOSEN_ZOOM = 16;
const DECIMALS = 6; // about 10 cm: more than any phone's fix, less than a hidden input would need
const LOCATE_TIMEOUT_MS = 15000;

const picker = document.getElementById("location-picker");
if (picker) setUp(picker);

function setUp(root) {
  const latitude = root.querySelector('input[name="latitude"]');
  const longitude = root.querySelector('input[name="longitude"]');
  const status = root.querySelector("#location-status");
  const locate = root.querySelector("#locate-me");
  const clear = root.querySelector("#clear-location");
  root.hidden = false; // shown first, so the map is laid out at its size
  const map = makeMap(root);
  let marker = null;

  function show(lat, lng, message) {
    latitude.value = lat.toFixed(DECIMALS);
    longitude.value = lng.toFixed(DECIMALS);
    status.textContent = `${message} (${toPersianDigits(lat.toFixed(5))}، ${toPersianDigits(lng.toFixed(5))})`;
    clear.hidden = false;
    if (!map) return;
    if (marker) marker.setLatLng([lat, lng]);
    else marker = globalThis.L.marker([lat, lng], { alt: "محل انتخاب‌شده", keyboard: false }).addTo(map);
    map.setView([lat, lng], Math.max(map.getZoom(), CHOSEN_ZOOM));
  }

  const kept = [Number.parseFloat(latitude.value), Number.parseFloat(longitude.value)];
  if (latitude.value && longitude.value && kept.every(Number.isFinite)) {
    show(kept[0], kept[1], "محل پیشین شما نگه داشته شد");
  }

  if (map) map.on("click", (event) => show(event.latlng.lat, event.latlng.lng, "محل روی نقشه علامت خورد"));

  if ("geolocation" in navigator) {
    locate.addEventListener("click", () => {
      status.textContent = "در حال یافتن موقعیت شما…";
      navigator.geolocation.getCurrentPosition(
        (position) => show(position.coords.latitude, position.coords.longitude, "موقعیت کنونی شما ثبت شد"),
        () => { status.textContent = "موقعیت شما در دسترس نیست؛ نشانی را بنویسید یا روی نقشه بزنید."; },
        { enableHighAccuracy: true, timeout: LOCATE_TIMEOUT_MS, maximumAge: 60000 },
      );
    });
  } else {
    locate.hidden = true;
  }

  clear.addEventListener("click", () => {
    latitude.value = "";
    longitude.value = "";
    status.textContent = "محل حذف شد؛ درخواست با نشانی ثبت می‌شود.";
    clear.hidden = true;
    if (marker) { marker.remove(); marker = null; }
  });
}

// The map, only when the page names a tile server and Leaflet loaded; else the inputs and the button alone.
function makeMap(root) {
  const element = root.querySelector("#location-map");
  const Leaflet = globalThis.L;
  if (!element || !root.dataset.tiles || !Leaflet) {
    if (element) element.remove();
    return null;
  }
  const map = Leaflet.map(element, { zoomControl: false, attributionControl: false }).setView(CITY_CENTRE, CITY_ZOOM);
  Leaflet.control.zoom({ zoomInTitle: "بزرگ‌نمایی", zoomOutTitle: "کوچک‌نمایی" }).addTo(map);
  // The attribution is the settings' plain text: escaped here, since Leaflet writes it as HTML.
  const attribution = document.createElement("span");
  attribution.textContent = root.dataset.attribution || "";
  Leaflet.control.attribution({ prefix: false }).addAttribution(attribution.innerHTML).addTo(map);
  new (policyTileLayer(Leaflet))(root.dataset.tiles, { maxZoom: 19 }).addTo(map);
  return map;
}

// Leaflet (1.9) cancels the download of a tile it no longer needs by pointing it at a data: GIF, which the page's
// policy refuses (img-src names our origin and the tile server's, no data:). Removing the src cancels it as well,
// and loads nothing. The two methods are Leaflet's own, with that one line changed.
function policyTileLayer(Leaflet) {
  const ignore = () => false;
  return Leaflet.TileLayer.extend({
    _removeTile(key) {
      const tile = this._tiles[key];
      if (!tile) return undefined;
      tile.el.removeAttribute("src");
      return Leaflet.GridLayer.prototype._removeTile.call(this, key);
    },
    _abortLoading() {
      for (const [key, tile] of Object.entries(this._tiles)) {
        if (tile.coords.z === this._tileZoom) continue;
        tile.el.onload = ignore;
        tile.el.onerror = ignore;
        if (!tile.el.complete) {
          tile.el.removeAttribute("src");
          tile.el.remove();
          delete this._tiles[key];
          this.fire("tileabort", { tile: tile.el, coords: tile.coords });
        }
      }
    },
  });
}
