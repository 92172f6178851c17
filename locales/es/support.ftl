# "Comunicarse con el servicio de asistencia" (/support). Área "console".

support-form-title = Comunicarse con el servicio de asistencia
support-form-category-sign-in = No puedo iniciar sesión
support-form-category-lost-phone = Perdí mi teléfono o no recibo los códigos
support-form-category-account-security = Pasó algo en mi cuenta que no hice yo
support-form-category-other = Otra cosa
support-form-category-missing = Elija el tema de su mensaje.
support-form-email-invalid = Ingrese un correo electrónico al que podamos responder, como nombre@ejemplo.com.
support-form-message-missing = Cuéntenos qué pasó o qué necesita.
support-form-message-too-long = Su mensaje debe tener menos de { $count } caracteres.
support-form-too-many = Usted envió varios mensajes en la última hora. Espere un rato antes de enviar otro; responderemos los que ya recibimos.

## El formulario (templates/support.html).

support-form-intro = Cuéntenos qué pasa y cómo comunicarnos con usted. No incluya su contraseña ni ningún código que le hayamos enviado.
support-form-category-label = ¿De qué se trata?
support-form-category-choose = Elija una opción
support-form-email-label = Correo electrónico para nuestra respuesta
support-form-message-label = Su mensaje
support-form-message-hint = Hasta { $count } caracteres.
support-form-send = Enviar
support-form-filed-before = Gracias. Su número de caso es
support-form-filed-after = Enviamos una confirmación a { $email } y le responderemos allí.
support-form-never-ask = Nunca le pediremos su contraseña ni un código que le hayamos enviado.
