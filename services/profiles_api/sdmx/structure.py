"""The SDMX-ML 3.0 structure message of ``MC2CM:CITY_MIGRATION``, written from the catalogue.

One message holds everything a reader needs to validate our data: the code lists (cities,
indicators, observation statuses, units, confidentiality), the concept scheme, the dataflow and
its data structure. Codes and names come from the catalogue; names in every language it has.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from services.profiles_api.indicators.schemas import Unit
from services.profiles_api.sdmx.catalogue import (
    AGENCY,
    ATTRIBUTES,
    BREAKDOWN_FACET,
    COMMENT_LENGTH,
    CONCEPTS,
    DATAFLOW,
    DATAFLOW_VERSION,
    DSD,
    MEASURE,
    SCOPE_FACET,
    Catalogue,
    breakdown_id,
)

_NS = {
    "mes": "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message",
    "str": "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/structure",
    "com": "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common",
}
for _prefix, _uri in _NS.items():
    ET.register_namespace(_prefix, _uri)
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

#: SDMX's observation statuses (CL_OBS_STATUS) the platform uses: ``observations.fields.
#: ObsStatus`` (written out here, since observations' exports use this package; a test
#: checks that the two agree).
OBS_STATUS_NAMES = {
    "A": "Normal value",
    "B": "Time series break",
    "D": "Definition differs",
    "E": "Estimated value",
    "F": "Forecast value",
    "I": "Imputed value",
    "M": "Missing value",
    "P": "Provisional value",
    "U": "Low reliability",
}
_CONF_STATUS_NAMES = {"C": "Confidential statistical information", "F": "Free"}
_CONCEPT_NAMES = {
    "REF_AREA": "City (UN/LOCODE without the space)",
    "INDICATOR": "Indicator",
    "SCOPE": "Geographic scope (municipality, metro, governorate, region, country, district:…)",
    "TIME_PERIOD": "Period",
    MEASURE: "Observation value",
    "OBS_STATUS": "Observation status",
    "UNIT_MEASURE": "Unit of measure",
    "SOURCE": "Source (its title)",
    "OBS_VALUE_LOW": "Lower bound of the value",
    "OBS_VALUE_HIGH": "Upper bound of the value",
    "COMMENT": "Note on the value",
    "CONF_STATUS": "Confidentiality status",
}
#: The code list of each coded component (the others are text, numbers or periods).
_CODED = {
    "REF_AREA": "CL_AREA",
    "INDICATOR": "CL_INDICATOR",
    "OBS_STATUS": "CL_OBS_STATUS",
    "UNIT_MEASURE": "CL_UNIT_MEASURE",
    "CONF_STATUS": "CL_CONF_STATUS",
}
_NUMBERS = frozenset({MEASURE, "OBS_VALUE_LOW", "OBS_VALUE_HIGH"})
_MANDATORY_ATTRIBUTES = frozenset({"OBS_STATUS", "UNIT_MEASURE", "SOURCE", "CONF_STATUS"})


def _q(prefix: str, name: str) -> str:
    return f"{{{_NS[prefix]}}}{name}"


def _sub(
    parent: ET.Element, prefix: str, name: str, text: str | None = None, **attrs: str
) -> ET.Element:
    element = ET.SubElement(parent, _q(prefix, name), attrs)
    element.text = text
    return element


def _names(parent: ET.Element, names: dict[str, str]) -> None:
    for language in sorted(names, key=lambda code: (code != "en", code)):
        _sub(parent, "com", "Name", names[language]).set(_XML_LANG, language)


def _codelist(
    parent: ET.Element,
    codelist_id: str,
    name: str,
    version: str,
    codes: Iterable[tuple[str, dict[str, str]]],
) -> None:
    codelist = _sub(
        parent,
        "str",
        "Codelist",
        id=codelist_id,
        version=version,
        agencyID=AGENCY,
        isExternalReference="false",
        isPartial="false",
    )
    _names(codelist, {"en": name})
    for code_id, names in codes:
        code = _sub(codelist, "str", "Code", id=code_id)
        _names(code, names or {"en": code_id})


def _urn(kind: str, artefact: str, version: str, item: str | None = None) -> str:
    urn = f"urn:sdmx:org.sdmx.infomodel.{kind}={AGENCY}:{artefact}({version})"
    return f"{urn}.{item}" if item else urn


def _representation(
    parent: ET.Element,
    component: str,
    version: str,
    time: bool = False,
    breakdown: bool = False,
) -> None:
    representation = _sub(parent, "str", "LocalRepresentation")
    if component in _CODED:
        urn = _urn("codelist.Codelist", _CODED[component], version)
        _sub(representation, "str", "Enumeration", urn)
    elif time:
        _sub(representation, "str", "TextFormat", textType="ObservationalTimePeriod")
    elif component in _NUMBERS:
        _sub(representation, "str", "TextFormat", textType="Double")
    elif component == "SCOPE" or breakdown:
        pattern = SCOPE_FACET if component == "SCOPE" else BREAKDOWN_FACET
        _sub(representation, "str", "TextFormat", textType="String", pattern=pattern)
    elif component == "COMMENT":
        _sub(representation, "str", "TextFormat", textType="String", maxLength=str(COMMENT_LENGTH))
    else:
        _sub(representation, "str", "TextFormat", textType="String")


def _concept_identity(parent: ET.Element, component: str, version: str) -> None:
    _sub(
        parent,
        "str",
        "ConceptIdentity",
        _urn("conceptscheme.Concept", CONCEPTS, version, component),
    )


def structure_message(catalogue: Catalogue) -> bytes:
    """The structure message (UTF-8 XML) of ``catalogue``."""
    version = catalogue.version
    root = ET.Element(_q("mes", "Structure"))
    header = _sub(root, "mes", "Header")
    _sub(header, "mes", "ID", f"{DATAFLOW}_{version.replace('.', '_')}")
    _sub(header, "mes", "Test", "false")
    prepared = (
        catalogue.last_change.strftime("%Y-%m-%dT%H:%M:%SZ")
        if catalogue.last_change
        else "1970-01-01T00:00:00Z"
    )
    _sub(header, "mes", "Prepared", prepared)
    _sub(header, "mes", "Sender", id=AGENCY)
    structures = _sub(root, "mes", "Structures")

    codelists = _sub(structures, "str", "Codelists")
    _codelist(
        codelists, "CL_AREA", "Cities of the MC2CM network", version, catalogue.cities.items()
    )
    _codelist(
        codelists,
        "CL_INDICATOR",
        "Indicators of the MC2CM catalogue",
        version,
        ((code, entry.names) for code, entry in catalogue.indicators.items()),
    )
    _codelist(
        codelists,
        "CL_OBS_STATUS",
        "Observation status",
        version,
        ((code, {"en": name}) for code, name in OBS_STATUS_NAMES.items()),
    )
    _codelist(
        codelists,
        "CL_UNIT_MEASURE",
        "Units",
        version,
        ((unit.value, {"en": unit.value}) for unit in Unit),
    )
    _codelist(
        codelists,
        "CL_CONF_STATUS",
        "Confidentiality status",
        version,
        ((code, {"en": name}) for code, name in _CONF_STATUS_NAMES.items()),
    )

    concept_names = dict(_CONCEPT_NAMES)
    for name in catalogue.breakdowns:
        concept_names[breakdown_id(name)] = f"Breakdown by {name}"
    schemes = _sub(structures, "str", "ConceptSchemes")
    scheme = _sub(
        schemes,
        "str",
        "ConceptScheme",
        id=CONCEPTS,
        version=version,
        agencyID=AGENCY,
        isExternalReference="false",
        isPartial="false",
    )
    _names(scheme, {"en": "Concepts of MC2CM city migration data"})
    for component in (*catalogue.dimensions, MEASURE, *ATTRIBUTES):
        concept = _sub(
            scheme,
            "str",
            "Concept",
            id=component,
            urn=_urn("conceptscheme.Concept", CONCEPTS, version, component),
        )
        _names(concept, {"en": concept_names[component]})

    dataflows = _sub(structures, "str", "Dataflows")
    dataflow = _sub(
        dataflows,
        "str",
        "Dataflow",
        id=DATAFLOW,
        version=DATAFLOW_VERSION,
        agencyID=AGENCY,
        isExternalReference="false",
    )
    _names(dataflow, {"en": "Migration in the cities of the MC2CM network"})
    _sub(dataflow, "str", "Structure", _urn("datastructure.DataStructure", DSD, version))

    dsds = _sub(structures, "str", "DataStructures")
    dsd = _sub(
        dsds,
        "str",
        "DataStructure",
        id=DSD,
        version=version,
        agencyID=AGENCY,
        isExternalReference="false",
    )
    _names(dsd, {"en": "City migration observations"})
    components = _sub(dsd, "str", "DataStructureComponents")
    dimensions = _sub(components, "str", "DimensionList", id="DimensionDescriptor")
    breakdowns = {breakdown_id(name) for name in catalogue.breakdowns}
    for position, component in enumerate(catalogue.dimensions[:-1], start=1):
        dimension = _sub(dimensions, "str", "Dimension", id=component, position=str(position))
        _concept_identity(dimension, component, version)
        _representation(dimension, component, version, breakdown=component in breakdowns)
    time = _sub(dimensions, "str", "TimeDimension", id="TIME_PERIOD")
    _concept_identity(time, "TIME_PERIOD", version)
    _representation(time, "TIME_PERIOD", version, time=True)
    attributes = _sub(components, "str", "AttributeList", id="AttributeDescriptor")
    for component in ATTRIBUTES:
        usage = "mandatory" if component in _MANDATORY_ATTRIBUTES else "optional"
        attribute = _sub(attributes, "str", "Attribute", id=component, usage=usage)
        _concept_identity(attribute, component, version)
        _representation(attribute, component, version)
        relationship = _sub(attribute, "str", "AttributeRelationship")
        _sub(relationship, "str", "Observation")
        measure_relationship = _sub(attribute, "str", "MeasureRelationship")
        _sub(measure_relationship, "str", "Measure", MEASURE)
    measures = _sub(components, "str", "MeasureList", id="MeasureDescriptor")
    measure = _sub(measures, "str", "Measure", id=MEASURE)
    _concept_identity(measure, MEASURE, version)
    _representation(measure, MEASURE, version)
    message: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return message
