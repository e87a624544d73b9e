"""FIBO's field vocabulary: key orders, descriptions and example values.

Descriptions paraphrase Bria's own field guide (FIBO ``json_schema_full``); examples are the
"E.g." suggestions from Bria's prompts and values seen in real captions. They are offered as
completions and JSON Schema ``examples``, never as enums: FIBO accepts any free text.
"""

from __future__ import annotations

from typing import Final

#: Top-level key order of FIBO's VLM output (pydantic ``ImageAnalysis`` / Gemini schema),
#: with the edit models' ``edit_instruction`` last.
TOP_LEVEL_ORDER: Final[tuple[str, ...]] = (
    "short_description",
    "objects",
    "background_setting",
    "lighting",
    "aesthetics",
    "photographic_characteristics",
    "style_medium",
    "text_render",
    "context",
    "artistic_style",
    "edit_instruction",
)

#: Object key order seen in FIBO's Gemini output (``default_json_caption.json``).
OBJECT_ORDER: Final[tuple[str, ...]] = (
    "description",
    "location",
    "relationship",
    "relative_size",
    "shape_and_color",
    "texture",
    "appearance_details",
    "number_of_objects",
    "pose",
    "expression",
    "clothing",
    "action",
    "gender",
    "skin_tone_and_texture",
    "orientation",
)

LIGHTING_ORDER: Final[tuple[str, ...]] = ("conditions", "direction", "shadows")
AESTHETICS_ORDER: Final[tuple[str, ...]] = (
    "composition",
    "color_scheme",
    "mood_atmosphere",
    "preference_score",
    "aesthetic_score",
)
PHOTOGRAPHIC_ORDER: Final[tuple[str, ...]] = (
    "depth_of_field",
    "focus",
    "camera_angle",
    "lens_focal_length",
)
TEXT_RENDER_ORDER: Final[tuple[str, ...]] = (
    "text",
    "location",
    "size",
    "color",
    "font",
    "appearance_details",
)

#: The five quality labels Bria's code maps scores onto (the one closed vocabulary).
QUALITY_LEVELS: Final[tuple[str, ...]] = ("very low", "low", "medium", "high", "very high")

LOCATIONS: Final[list[object]] = [
    "center",
    "top-left",
    "top-center",
    "top-right",
    "bottom-left foreground",
    "center-right",
    "center-left midground",
    "background",
]

DESCRIPTIONS: Final[dict[str, str]] = {
    # top level
    "short_description": "A concise summary of the imagined image content, 200 words maximum.",
    "objects": (
        "The prominent objects in the image, at most 5 by convention; if the scene implies "
        "more, choose the most important ones and describe the rest in background_setting."
    ),
    "background_setting": (
        "The overall environment and setting, including notable background elements that are "
        "not part of objects."
    ),
    "lighting": "The lighting of the scene: conditions, direction and shadows.",
    "aesthetics": "Composition, colour scheme and mood, plus optional quality labels.",
    "photographic_characteristics": (
        "Camera properties: depth of field, focus, camera angle and lens focal length."
    ),
    "style_medium": "The artistic medium, e.g. photograph, oil painting, 3D render.",
    "text_render": (
        "Text that must appear in the image, with its exact content. Empty unless the exact "
        "text is given (or the text is integral to an object, like a STOP sign)."
    ),
    "context": "A general description of the type of image this is and what it is for.",
    "artistic_style": (
        "The artistic style in 3 words at most for non-photographs; photographs use "
        "'realistic' or similar."
    ),
    "edit_instruction": (
        "Edit models only: an imperative instruction starting with a verb ('Change...', "
        "'Add...', 'Remove...')."
    ),
    # objects[]
    "description": "A detailed description of the object, 100 words maximum.",
    "location": "Where the object is in the frame.",
    "relationship": "The object's relationship to the other objects.",
    "relative_size": "The object's size within the frame.",
    "shape_and_color": "The object's basic shape and dominant colour.",
    "texture": "The object's surface texture.",
    "appearance_details": "Other notable visual details.",
    "number_of_objects": "For a cluster of similar objects only: how many there are.",
    "pose": "Humans and human-like subjects: body position.",
    "expression": "Humans and human-like subjects: facial expression.",
    "clothing": "Humans and human-like subjects: attire.",
    "action": "Humans and human-like subjects: what they are doing.",
    "gender": "Humans and human-like subjects: gender as it appears.",
    "skin_tone_and_texture": "Humans and human-like subjects: skin tone and texture.",
    "orientation": "The object's orientation in the frame.",
    # lighting
    "conditions": "The lighting conditions.",
    "direction": "Where the light comes from.",
    "shadows": "The shadows the light casts.",
    # aesthetics
    "composition": "The composition or, for people, the shot type.",
    "color_scheme": "The colour scheme.",
    "mood_atmosphere": "The mood and atmosphere.",
    "preference_score": (
        "Quality label added by Bria's inference code ('very high' unless given); "
        "one of: very low, low, medium, high, very high."
    ),
    "aesthetic_score": (
        "Quality label added by Bria's inference code ('very high' unless given); "
        "one of: very low, low, medium, high, very high."
    ),
    # photographic_characteristics
    "depth_of_field": "The depth of field.",
    "focus": "What is in focus and how.",
    "camera_angle": "The camera angle.",
    "lens_focal_length": "The lens or focal length.",
    # text_render[]
    "text": "The exact text to render. Never a generic placeholder.",
    "size": "The text's size within the frame.",
    "color": "The text's colour.",
    "font": "The font or lettering style.",
}

EXAMPLES: Final[dict[str, list[object]]] = {
    "objects": [
        [
            {
                "description": "A full-grown zebra with distinct black and white stripes.",
                "location": "center-right",
                "relationship": "The main subject, standing next to the fire hydrant.",
                "relative_size": "large within frame",
                "orientation": "facing right",
            }
        ]
    ],
    "lighting": [
        {"conditions": "golden hour", "direction": "backlit", "shadows": "long, soft shadows"}
    ],
    "aesthetics": [
        {
            "composition": "rule of thirds, medium shot",
            "color_scheme": "warm complementary colors",
            "mood_atmosphere": "serene",
        }
    ],
    "photographic_characteristics": [
        {
            "depth_of_field": "shallow",
            "focus": "sharp focus on subject",
            "camera_angle": "eye-level",
            "lens_focal_length": "85mm portrait lens",
        }
    ],
    "text_render": [
        [
            {
                "text": "HONEY",
                "location": "front of the pot, bottom-center",
                "size": "medium",
                "color": "light brown",
                "font": "serif typeface",
                "appearance_details": "Slightly curved to follow the pot's shape",
            }
        ]
    ],
    "short_description": [
        "A golden retriever leaps to catch a red frisbee in a sunlit park.",
    ],
    "background_setting": [
        "A plain, light-colored concrete wall suggesting an urban setting.",
        "A lush green park with trees softly blurred in the distance.",
    ],
    "style_medium": [
        "photograph",
        "oil painting",
        "watercolor",
        "3D render",
        "digital illustration",
        "pencil sketch",
        "cartoon",
        "anime",
    ],
    "context": [
        "This is a concept for a high-fashion editorial photograph intended for a magazine spread.",
        "A product shot for an e-commerce catalogue.",
    ],
    "artistic_style": ["realistic", "whimsical, cartoonish", "minimalist flat design"],
    "edit_instruction": ["Change the sky to a dramatic sunset.", "Add a red scarf to the dog."],
    "description": ["A full-grown zebra with distinct black and white stripes."],
    "location": LOCATIONS,
    "relationship": ["The main subject, standing next to the fire hydrant."],
    "relative_size": ["small", "medium", "large", "large within frame", "medium-to-large"],
    "shape_and_color": ["Human figure, navy and white clothing", "cylindrical, bright red"],
    "texture": ["smooth", "rough", "metallic", "furry", "glossy ceramic"],
    "appearance_details": ["Minimal jewelry, well-groomed professional appearance"],
    "number_of_objects": [3, 12],
    "pose": ["standing upright, relaxed stance", "sitting cross-legged"],
    "expression": ["winking", "joyful", "serious", "surprised", "calm"],
    "clothing": ["tailored navy blazer over a white blouse"],
    "action": ["reading a book", "presenting information on a tablet"],
    "gender": ["female", "male", "Unidentifiable."],
    "skin_tone_and_texture": ["medium warm skin tone, smooth complexion"],
    "orientation": [
        "upright",
        "tilted 45 degrees",
        "facing left",
        "facing right",
        "three-quarter view",
    ],
    "conditions": [
        "golden hour",
        "bright daylight",
        "overcast light",
        "studio lighting",
        "dim indoor",
        "blue hour light",
    ],
    "direction": ["front-lit", "backlit", "side-lit from left", "side-lit from right", "top-down"],
    "shadows": ["long, soft shadows", "sharp, defined shadows", "minimal shadows"],
    "composition": [
        "rule of thirds",
        "centered",
        "symmetrical",
        "leading lines",
        "medium shot",
        "close-up",
    ],
    "color_scheme": ["monochromatic blue", "warm complementary colors", "high contrast"],
    "mood_atmosphere": ["serene", "energetic", "mysterious", "joyful"],
    "preference_score": ["very high"],
    "aesthetic_score": ["very high"],
    "depth_of_field": ["shallow", "deep", "bokeh background"],
    "focus": ["sharp focus on subject", "soft focus", "motion blur"],
    "camera_angle": ["eye-level", "low angle", "high angle", "bird's-eye view", "dutch angle"],
    "lens_focal_length": [
        "35mm wide-angle",
        "50mm standard lens",
        "85mm portrait lens",
        "telephoto",
        "macro",
    ],
    "text": ["HONEY", "SUMMER SALE"],
    "size": ["small", "medium", "large within frame"],
    "color": ["red", "white", "light brown"],
    "font": ["realistic", "cartoonish", "minimalist", "serif typeface", "bold sans-serif"],
}
