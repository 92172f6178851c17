# El centro de ayuda (/help): las palabras alrededor de los artículos. Los artículos son
# archivos Markdown en help/en/ y help/es/.
help-index-title = Centro de ayuda
help-index-heading = Centro de ayuda
help-index-intro = Respuestas sobre su cuenta, su teléfono y cómo protegerse.
help-index-topics = Temas de ayuda
help-breadcrumb-label = Ruta de navegación
help-breadcrumb-home = Centro de ayuda
help-more-heading = ¿Todavía necesita ayuda?
help-more-contact = Comuníquese con soporte
help-more-topics = Ver todos los temas de ayuda
help-contact-heading = Hable con soporte
help-contact-phone = Teléfono:
help-contact-hours = Horario:
help-contact-form = Envíenos un mensaje
# Unidades para los números que los artículos toman de la configuración.
help-unit-seconds = { $count ->
    [one] 1 segundo
   *[other] { $count } segundos
}
help-unit-minutes = { $count ->
    [one] 1 minuto
   *[other] { $count } minutos
}
help-unit-hours = { $count ->
    [one] 1 hora
   *[other] { $count } horas
}
help-unit-days = { $count ->
    [one] 1 día
   *[other] { $count } días
}
