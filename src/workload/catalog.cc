#include "workload/catalog.h"

#include <array>
#include <string_view>

namespace cdc::workload {
namespace {

constexpr std::array<std::string_view, 24> kAdjectives = {
    "Wireless",   "Ergonomic",   "Compact",    "Premium", "Organic", "Stainless", "Portable", "Smart",
    "Vintage",    "Ultra-Light", "Heavy-Duty", "Classic", "Crème",   "Café",      "Über",     "Noise-Cancelling",
    "Waterproof", "Handmade",    "Bamboo",     "Carbon",  "Solar",   "Mini",      "Pro",      "Eco"};
constexpr std::array<std::string_view, 32> kNouns = {
    "Laptop",     "Mouse",        "Keyboard",      "Headphones",     "Monitor",          "USB-C Cable",
    "Charger",    "Backpack",     "Water Bottle",  "Coffee Grinder", "Teapot",           "Desk Lamp",
    "Notebook",   "Fountain Pen", "Blender",       "Kettle",         "Running Shoes",    "Yoga Mat",
    "Sunglasses", "Wallet",       "Chaise Longue", "Pâtisserie Set", "Smørrebrød Board", "Thermos",
    "Jacket",     "Umbrella",     "Speaker",       "Webcam",         "Router",           "Tablet",
    "Smartwatch", "Camera"};
constexpr std::array<std::string_view, 12> kForeign = {
    "日本茶 セット",      "Чайник",        "Café Crème",  "Überzug",           "Ελληνικό Μέλι", "Kaffeemühle",
    "Crème Brûlée Torch", "Niño Backpack", "Façade Lamp", "Smörgåsbord Plate", "Señorita Hat",  "Øresund Scarf"};
constexpr std::array<std::string_view, 16> kQualities = {"durable",
                                                         "lightweight",
                                                         "easy to clean",
                                                         "energy efficient",
                                                         "with a two-year warranty",
                                                         "gift-ready",
                                                         "made from recycled materials",
                                                         "dishwasher safe",
                                                         "for everyday use",
                                                         "designed in Lisbon",
                                                         "with fast charging",
                                                         "rated 4.8 stars",
                                                         "limited edition",
                                                         "ideal for travel",
                                                         "quiet",
                                                         "colour: midnight blue"};

}  // namespace

std::string productName(int64_t id, uint64_t variant) {
  std::string name;
  if (variant % 9 == 0) {
    name = std::string(kForeign[(variant / 9) % kForeign.size()]);
  } else {
    name = std::string(kAdjectives[variant % kAdjectives.size()]);
    name += ' ';
    name += kNouns[(variant / kAdjectives.size()) % kNouns.size()];
  }
  name += " ";
  name += std::to_string(id);
  return name;
}

std::string productDescription(int64_t id, uint64_t variant) {
  std::string d = std::string(kQualities[variant % kQualities.size()]);
  d += ", ";
  d += kQualities[(variant / 7 + id) % kQualities.size()];
  d[0] = static_cast<char>(d[0] >= 'a' && d[0] <= 'z' ? d[0] - 32 : d[0]);
  return d;
}

}  // namespace cdc::workload
