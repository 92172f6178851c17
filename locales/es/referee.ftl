## El escritorio de agentes (/referee): los agentes verifican identidades por video aquí.

referee-desk-title = Escritorio de agentes
referee-desk-agent = Sesión iniciada como el agente { $name }.
referee-desk-certified = Certificación vigente hasta el { $date }.
referee-desk-cases = Casos abiertos
referee-desk-none = Nadie está esperando a un agente.
referee-desk-privacy = Un caso muestra los datos de la persona solo después de que usted lo reclame y la persona le lea su código de continuación en la llamada. Cada consulta de un caso queda registrada.
referee-figure-queue = { $count ->
    [one] 1 persona en la fila
   *[other] { $count } personas en la fila
}
referee-figure-wait = Espera prevista para el último de la fila: { $minutes } min. Espera más larga hasta ahora: { $longest } min.
referee-figure-scheduled = Llamadas reservadas: { $scheduled }. Llamadas en curso: { $claimed }.
referee-col-when = Cuándo
referee-col-status = Estado
referee-col-from = Verificación en línea que falló
referee-col-waited = Espera
referee-col-action = Acción
referee-status-scheduled = Reservado
referee-status-queued = En la fila
referee-status-claimed = Reclamado
referee-yours = suyo
referee-queue-place = Lugar { $place } en la fila
referee-queue-next = Próximo agente disponible
referee-waited = { $minutes } min
referee-from-document = El documento de identidad
referee-from-selfie = La foto de su cara
referee-from-ssn = El número de Seguro Social
referee-from-review = La verificación de registros
referee-claim = Reclamar
referee-open = Abrir
referee-done-verified = Decisión registrada: verificado. Se envió un correo a la persona para que termine en el paso de la contraseña.
referee-done-not-verified = Decisión registrada: no verificado.
referee-done-fraud = Decisión registrada: posible fraude. La verificación de la persona queda retenida para revisión.
referee-done-released = El caso vuelve a esperar a un agente.
referee-case-taken = Otro agente reclamó este caso.
referee-claim-too-late = Este caso ya no se puede reclamar: fue reclamado o terminó.
referee-case-closed = Este caso ya no se puede trabajar: se decidió o venció, o la verificación de la persona terminó.
referee-forbidden-heading = No disponible para esta cuenta
referee-forbidden = Esta página es para agentes de verificación certificados. Pida a su operador que vincule su cuenta a un agente o que renueve su certificación. Un agente no puede trabajar un caso de su propia cuenta.

referee-case-title = Caso de verificación
referee-back = Volver al escritorio de agentes
referee-meeting-link = Enlace de la reunión
referee-evidence = Lo que reunió la verificación en línea
referee-evidence-masked = Los nombres aparecen abreviados y las fotos ocultas hasta que la persona le lea su código de continuación.
referee-evidence-none = La verificación en línea no leyó nada de esta persona.
referee-online-results = Resultados en línea
referee-passed = Aprobado: { $check }
referee-last-failure = Último rechazo: { $reason }
referee-flag = Alerta: { $flag }
referee-person-given-name = Nombre
referee-person-middle-name = Segundo nombre
referee-person-family-name = Apellido
referee-person-birthdate = Fecha de nacimiento (AAAA-MM-DD)
referee-person-birth-year = Año de nacimiento
referee-person-ssn-last4 = Número de Seguro Social
referee-person-document-number = Número del documento
referee-person-address = Dirección
referee-person-phone = Teléfono
referee-document-type = Documento
referee-document-issuer = Emitido por (código del estado, o código de país OACI en un pasaporte)
referee-document-expiry = Vence (AAAA-MM-DD)
referee-document-driving-permit = Licencia de conducir
referee-document-idcard = Tarjeta de identificación estatal
referee-document-passport = Pasaporte
referee-image-front = Frente de la identificación
referee-image-back = Reverso de la identificación
referee-image-selfie = Foto de su cara

referee-call = En la llamada
referee-code-label = Código de continuación
referee-code-hint = Pida a la persona que lea el código que se le mostró cuando pidió un agente.
referee-code-wrong = Ese código no corresponde a este caso. Verifíquelo con la persona.
referee-code-used = Este código de continuación ya se usó.
referee-code-first = Confirme el código de continuación de la persona antes de decidir «verificado».
referee-code-confirmed = El código de continuación de la persona coincidió.
referee-checks-legend = Lo que verificó
referee-check-document-shown = Mostró su identificación ante la cámara
referee-check-face-matches = Su cara coincide con la foto de la identificación
referee-check-details-match = Los datos de la identificación coinciden con lo que le dijo
referee-notes-label = Notas (opcional)
referee-checks-save = Guardar
referee-checks-saved = Guardado.
referee-checks-too-long = Las notas son demasiado largas.
referee-release = Devolver este caso a la fila
referee-release-too-late = La llamada empezó (el código coincidió), así que el caso no se puede devolver: decídalo.

referee-decision = Su decisión
referee-decision-legend = Decisión
referee-decision-verified = Verificado: es la persona y su identificación es auténtica
referee-decision-not-verified = No verificado
referee-decision-fraud = Posible fraude
referee-decision-missing = Elija una decisión.
referee-rationale-label = Por qué
referee-rationale-hint = { $count ->
    [one] Hasta 1 carácter.
   *[other] Hasta { $count } caracteres.
}
referee-rationale-invalid = Explique por qué, en no más de los caracteres indicados.
referee-identity-legend = Leído de la identificación en la llamada
referee-identity-hint = La verificación en línea nunca leyó estos datos. Solo se necesitan para «verificado».
referee-choose = Elija
referee-identity-document-type = Elija el documento que mostró la persona y complete lo que dice.
referee-identity-name = Escriba el nombre como aparece en la identificación.
referee-identity-date = Escriba la fecha como AAAA-MM-DD.
referee-identity-expiry = Escriba el vencimiento como AAAA-MM-DD; no se puede usar una identificación vencida.
referee-identity-document-number = Escriba el número del documento.
referee-identity-issuer = Escriba el código de dos letras del estado emisor (VA), o el código de país de tres letras del pasaporte (USA).
referee-identity-address = Escriba la calle, la ciudad, el código de dos letras del estado y el código postal de una dirección en EE. UU.
referee-identity-ssn = Escriba los nueve dígitos del número de Seguro Social.
referee-identity-ssn-label = Número de Seguro Social (como lo dio la persona en la llamada)
referee-decide = Registrar la decisión
